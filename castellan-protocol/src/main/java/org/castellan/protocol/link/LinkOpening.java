package org.castellan.protocol.link;

import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The opening exchange of a relayed session on the edge ↔ mailbox link (docs/roles.md §2): one
 * line from the edge saying who logged in, how and from where, and one line back from the
 * mailbox node, {@link Answer}.
 *
 * <p>The edge's line is {@code OPEN} followed by {@code name=value} words in any order, each
 * value percent-encoded as UTF-8 (every octet but letters, digits and {@code -._~}, RFC 3986
 * §2.1), so that an account, an IMAP ID value or a cipher name can never split the line or a
 * word. Words the parser does not know are skipped, so an edge newer than the node may add some.
 * Pure: no I/O, no exceptions for bad input.
 *
 * @param protocol one of {@link #PROTOCOLS}
 * @param account the address the client authenticated as, never an administrator (docs/design.md §1); empty for {@code mx}
 * @param mechanism the SASL mechanism, or {@code LOGIN} / {@code USER} for IMAP LOGIN and POP3 USER/PASS; empty for {@code mx}
 * @param client the client's IP address as the edge saw it
 * @param clientPort the client's port
 * @param tls the client's TLS version ("TLSv1.3"), empty on a cleartext connection
 * @param cipher the client's TLS cipher suite, empty without TLS
 * @param certificateSerial the serial number (hex) of the client's verified certificate, empty without one
 * @param session the edge's session id, so the two logs can be joined
 * @param imapId the fields and values of the client's IMAP ID command (RFC 2971), alternating; empty when it sent none
 * @param ehlo the domain the client gave in EHLO (RFC 5321 §4.1.1.1), for {@code submission} and {@code mx}: the
 *     node's Received field and mail checks name it; empty for IMAP and POP3
 * @param clientCertificate the client's verified certificate itself, DER in unpadded base64url (RFC 4648 §5, whose
 *     alphabet needs no percent-encoding), for {@code https} and {@code ldap}: EST's re-enrolment and server-made keys
 *     need the whole certificate, not its serial (RFC 7030 §4.2.2, §4.4.1.2); empty without one and for the others
 */
public record LinkOpening(String protocol, String account, String mechanism, String client, int clientPort,
                          Optional<String> tls, Optional<String> cipher, Optional<String> certificateSerial,
                          String session, List<String> imapId, Optional<String> ehlo, Optional<String> clientCertificate) {

    /** The first word of the edge's line. */
    public static final String OPEN = "OPEN";
    /** The first word of a node's ready answer; what the client sees next follows. */
    public static final String READY = "READY";
    /** The first word of a node's refusal; a code and a text follow. */
    public static final String REFUSED = "NO";
    /**
     * The longest line either side sends, CRLF included. An IMAP ID list is at most 30 fields of
     * 30 octets and values of 1024 (RFC 2971 §3.3), which percent-encoded would not fit: the edge
     * leaves out what does not ({@link #format}), and the node refuses a longer line. A client's
     * certificate of up to 5 KiB of DER (an RSA-4096 one with a long chain of names is under 2) fits
     * with the other words.
     */
    public static final int MAX_LINE = 8192;
    /** {@link #protocol()} of an authenticated submission session relayed after AUTH. */
    public static final String SUBMISSION = "submission";
    /** {@link #protocol()} of a delivery from the edge's MX relay queue; it asserts no account. */
    public static final String MX = "mx";
    /** {@link #protocol()} of an HTTPS connection relayed from its first request; it asserts no account. */
    public static final String HTTPS = "https";
    /** {@link #protocol()} of an LDAPS connection relayed from its first message; it asserts no account. */
    public static final String LDAP = "ldap";
    /**
     * The protocols a session may be relayed for (docs/roles.md §3): {@code submission} is an
     * authenticated client's SMTP session after AUTH; {@code mx} is the edge delivering a message
     * of its MX relay queue, an SMTP transaction for the client the edge took it from; {@code https}
     * and {@code ldap} are relayed from their first byte, their own authentication (EST's, LDAP's
     * bind) being the node's.
     */
    public static final List<String> PROTOCOLS = List.of("imap", "pop3", SUBMISSION, MX, HTTPS, LDAP);
    /** The protocols whose opening asserts no account: nobody has logged in at the edge. */
    public static final List<String> WITHOUT_ACCOUNT = List.of(MX, HTTPS, LDAP);

    public LinkOpening {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(mechanism, "mechanism");
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(cipher, "cipher");
        Objects.requireNonNull(certificateSerial, "certificateSerial");
        Objects.requireNonNull(session, "session");
        imapId = List.copyOf(imapId);
        Objects.requireNonNull(ehlo, "ehlo");
        Objects.requireNonNull(clientCertificate, "clientCertificate");
    }

    /** An opening without the client's certificate itself: every protocol but HTTPS and LDAP. */
    public LinkOpening(String protocol, String account, String mechanism, String client, int clientPort,
                       Optional<String> tls, Optional<String> cipher, Optional<String> certificateSerial,
                       String session, List<String> imapId, Optional<String> ehlo) {
        this(protocol, account, mechanism, client, clientPort, tls, cipher, certificateSerial, session, imapId, ehlo,
                Optional.empty());
    }

    /** An opening without an EHLO domain: IMAP and POP3. */
    public LinkOpening(String protocol, String account, String mechanism, String client, int clientPort,
                       Optional<String> tls, Optional<String> cipher, Optional<String> certificateSerial,
                       String session, List<String> imapId) {
        this(protocol, account, mechanism, client, clientPort, tls, cipher, certificateSerial, session, imapId,
                Optional.empty());
    }

    /**
     * The edge's line, CRLF included; the IMAP ID fields, and then the client's certificate itself
     * (its serial stays), are left out if the line would be longer than {@link #MAX_LINE}.
     */
    public String format() {
        String line = format(imapId, clientCertificate);
        if (line.length() <= MAX_LINE) return line;
        line = format(List.of(), clientCertificate);
        return line.length() <= MAX_LINE ? line : format(List.of(), Optional.empty());
    }

    private String format(List<String> id, Optional<String> certificateDer) {
        Map<String, String> words = new LinkedHashMap<>();
        words.put("protocol", protocol);
        if (!account.isEmpty()) words.put("account", account);
        if (!mechanism.isEmpty()) words.put("mechanism", mechanism);
        words.put("client", client);
        words.put("port", Integer.toString(clientPort));
        tls.ifPresent(v -> words.put("tls", v));
        cipher.ifPresent(v -> words.put("cipher", v));
        certificateSerial.ifPresent(v -> words.put("certificate", v));
        words.put("session", session);
        ehlo.ifPresent(v -> words.put("ehlo", v));
        certificateDer.ifPresent(v -> words.put("certificate-der", v));
        for (int i = 0; i + 1 < id.size(); i += 2) words.put("id." + encode(id.get(i)), id.get(i + 1));
        StringBuilder b = new StringBuilder(OPEN);
        words.forEach((k, v) -> b.append(' ').append(k).append('=').append(encode(v)));
        return b.append("\r\n").toString();
    }

    /** This opening with the client's EHLO domain (SMTP). */
    public LinkOpening withEhlo(String domain) {
        return new LinkOpening(protocol, account, mechanism, client, clientPort, tls, cipher, certificateSerial, session,
                imapId, Optional.ofNullable(domain), clientCertificate);
    }

    /** This opening with the client's certificate itself, {@code der} as it was presented. */
    public LinkOpening withClientCertificate(byte[] der) {
        return new LinkOpening(protocol, account, mechanism, client, clientPort, tls, cipher, certificateSerial, session,
                imapId, ehlo, Optional.of(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(der)));
    }

    /** The client's certificate as DER, if the opening carries it and it is base64url; empty otherwise. */
    public Optional<byte[]> clientCertificateDer() {
        try {
            return clientCertificate.map(v -> java.util.Base64.getUrlDecoder().decode(v));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

        /** What parsing a line gives: an opening, or what is wrong with the line. */
    public sealed interface Parsed permits Valid, Invalid {}

    public record Valid(LinkOpening opening) implements Parsed {}

    public record Invalid(String reason) implements Parsed {}

    /** Parses the edge's line, without its CRLF. */
    public static Parsed parse(String line) {
        String[] words = line.split(" ", -1);
        if (!words[0].equals(OPEN)) return new Invalid("the line does not start with " + OPEN);
        Map<String, String> values = new LinkedHashMap<>();
        List<String> id = new ArrayList<>();
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            if (eq < 1) return new Invalid("word " + i + " is not name=value");
            Optional<String> name = decode(words[i].substring(0, eq));
            Optional<String> value = decode(words[i].substring(eq + 1));
            if (name.isEmpty() || value.isEmpty()) return new Invalid("word " + i + " is not percent-encoded UTF-8");
            if (name.get().startsWith("id.")) {
                id.add(name.get().substring(3));
                id.add(value.get());
            } else if (values.putIfAbsent(name.get(), value.get()) != null) {
                return new Invalid(name.get() + " is given twice");
            }
        }
        // A delivery from the MX relay queue is for whoever the recipients are, and HTTPS and LDAP
        // authenticate at the node: no one logged in at the edge.
        List<String> required = WITHOUT_ACCOUNT.contains(values.getOrDefault("protocol", ""))
                ? List.of("protocol", "client", "port", "session")
                : List.of("protocol", "account", "mechanism", "client", "port", "session");
        for (String name : required) {
            if (!values.containsKey(name) || values.get(name).isEmpty()) return new Invalid("no " + name);
        }
        if (!PROTOCOLS.contains(values.get("protocol"))) return new Invalid("protocol " + values.get("protocol") + " is not relayed");
        if (!values.get("port").matches("[0-9]{1,5}") || Integer.parseInt(values.get("port")) > 65535) {
            return new Invalid("port is not a port number");
        }
        if (!values.get("client").matches("[0-9A-Fa-f.:]+")) return new Invalid("client is not an IP address");
        return new Valid(new LinkOpening(values.get("protocol"), values.getOrDefault("account", ""),
                values.getOrDefault("mechanism", ""), values.get("client"), Integer.parseInt(values.get("port")),
                Optional.ofNullable(values.get("tls")), Optional.ofNullable(values.get("cipher")),
                Optional.ofNullable(values.get("certificate")), values.get("session"), id,
                Optional.ofNullable(values.get("ehlo")), Optional.ofNullable(values.get("certificate-der"))));
    }

    /**
     * A mailbox node's answer: {@code READY <text>} (IMAP: the capability list after login, POP3:
     * the text of the {@code +OK} after authentication) or {@code NO <CODE> <text>}, the code one the
     * client's protocol knows ({@code UNAVAILABLE}, {@code IN-USE}, {@code AUTHFAILED}).
     */
    public sealed interface Answer permits Ready, Refused {
        /** The answer's line, CRLF included. */
        String line();
    }

    public record Ready(String text) implements Answer {
        public String line() { return READY + " " + oneLine(text) + "\r\n"; }
    }

    public record Refused(String code, String text) implements Answer {
        /** RFC 5530 §3 and RFC 3206 §4: the node is there but cannot serve the account now. */
        public static final String UNAVAILABLE = "UNAVAILABLE";
        /** RFC 2449 §8.1.1: another POP3 session holds the maildrop. */
        public static final String IN_USE = "IN-USE";
        /** The account does not exist on the node (its placement is stale). */
        public static final String NO_ACCOUNT = "NONEXISTENT";
        /** The node could not make sense of the opening line. */
        public static final String PROTOCOL = "PROTOCOL";
        /** The node's connection rules refuse the client's address as the edge asserted it (docs/roles.md §2). */
        public static final String DENIED = "DENIED";

        public String line() { return REFUSED + " " + code + " " + oneLine(text) + "\r\n"; }
    }

    /** Parses a node's answer, without its CRLF; empty if it is neither form. */
    public static Optional<Answer> parseAnswer(String line) {
        if (line.startsWith(READY + " ")) return Optional.of(new Ready(line.substring(READY.length() + 1)));
        if (line.startsWith(REFUSED + " ")) {
            String rest = line.substring(REFUSED.length() + 1);
            int space = rest.indexOf(' ');
            String code = space < 0 ? rest : rest.substring(0, space);
            if (!code.matches("[A-Z-]+")) return Optional.empty();
            return Optional.of(new Refused(code, space < 0 ? "" : rest.substring(space + 1)));
        }
        return Optional.empty();
    }

    private static String oneLine(String text) {
        return text.replaceAll("[\\x00-\\x1f\\x7f]", "?");
    }

    static String encode(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (byte octet : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (octet & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                b.append(c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return b.toString();
    }

    /** The percent-decoded UTF-8 string; empty for a bad escape or octets that are not UTF-8. */
    static Optional<String> decode(String value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%') {
                if (i + 2 >= value.length()) return Optional.empty();
                int hi = Character.digit(value.charAt(i + 1), 16);
                int lo = Character.digit(value.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) return Optional.empty();
                out.write(hi << 4 | lo);
                i += 2;
            } else if (c > 0x20 && c < 0x7f) {
                out.write(c);
            } else {
                return Optional.empty();
            }
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(out.toByteArray())).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
