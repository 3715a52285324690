package org.castellan.server.outbound;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;
import org.castellan.server.dns.MailRouting.TlsaRecord;

/**
 * DANE authentication of an SMTP server (RFC 7672 with RFC 6698 and the names of RFC 7218): given
 * the DNSSEC-validated TLSA records of an MX host and the certificate chain the server presented,
 * decides whether a record authenticates the server, and which.
 *
 * <p>SECURITY: trusts only the TLSA records it is given, which the caller must have had validated
 * by DNSSEC ({@link org.castellan.server.dns.MailRouting.SecureTlsa}); never the system's CA store.
 * PKIX-TA(0) and PKIX-EE(1) records are ignored (RFC 7672 §3.1.3), as are records with a usage,
 * selector or matching type it does not know, or a digest of the wrong length (RFC 7671 §4.1).
 * A DANE-EE(3) record is matched against the leaf alone, whatever its names and dates say (RFC 7672
 * §3.1.1). A DANE-TA(2) record names an issuer in the chain (or, as a full public key, one outside
 * it); the chain below it must then validate, dates included, and the leaf must carry the MX host
 * name (RFC 7672 §3.2.3). Of the reference identifiers §3.2.3 allows, only the MX host name is
 * used, not the next-hop domain: a certificate naming only the domain fails.
 *
 * <p>Pure: no I/O; the time is an argument.
 */
public final class DaneVerifier {

    /** RFC 7218 §2.1: certificate usages. */
    public static final int PKIX_TA = 0;
    public static final int PKIX_EE = 1;
    public static final int DANE_TA = 2;
    public static final int DANE_EE = 3;
    /** RFC 7218 §2.2: selectors. */
    public static final int SELECTOR_CERT = 0;
    public static final int SELECTOR_SPKI = 1;
    /** RFC 7218 §2.3: matching types. */
    public static final int MATCH_FULL = 0;
    public static final int MATCH_SHA256 = 1;
    public static final int MATCH_SHA512 = 2;
    /** Digest lengths: a SHA-256 or SHA-512 record of any other length can never match (RFC 7671 §4.1). */
    private static final int SHA256_LENGTH = 32;
    private static final int SHA512_LENGTH = 64;
    /** Key algorithms a DANE-TA full public key (2 1 0) is decoded with. */
    private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448");
    /** RFC 5280 §4.2.1.6: the dNSName alternative name. */
    private static final int DNS_NAME = 2;

    private DaneVerifier() {}

    /** What the TLSA records say of a server's chain. */
    public sealed interface Decision {
    }

    /**
     * A record authenticates the server.
     *
     * @param depth where in the presented chain the record matched (0 the leaf), or -1 for a
     *     DANE-TA full public key that no presented certificate carries
     */
    public record Authenticated(TlsaRecord record, int depth) implements Decision {
        @Override
        public String toString() {
            return "DANE " + describe(record) + " at depth " + depth;
        }
    }

    /**
     * No record is usable: DANE does not authenticate this server. RFC 7672 §2.2: TLS is still
     * required (the records say the server does TLS), but any certificate will do.
     */
    public record NoUsableRecords() implements Decision {
    }

    /** Usable records, none of which authenticates the chain: the connection must not be used (RFC 7672 §2.2). */
    public record Failed(String reason) implements Decision {
    }

    /** The records an SMTP client can use: DANE-TA and DANE-EE of a known selector and matching type. */
    public static List<TlsaRecord> usable(List<TlsaRecord> records) {
        return records.stream().filter(DaneVerifier::isUsable).toList();
    }

    private static boolean isUsable(TlsaRecord r) {
        if (r.usage() != DANE_TA && r.usage() != DANE_EE) return false; // RFC 7672 §3.1.3
        if (r.selector() != SELECTOR_CERT && r.selector() != SELECTOR_SPKI) return false;
        return switch (r.matchingType()) {
            case MATCH_FULL -> r.data().length > 0;
            case MATCH_SHA256 -> r.data().length == SHA256_LENGTH;
            case MATCH_SHA512 -> r.data().length == SHA512_LENGTH;
            default -> false;
        };
    }

    /**
     * Decides whether {@code records} authenticate {@code chain} (leaf first, as the TLS stack
     * presents it) for the MX host {@code mxHost}, at time {@code now}.
     */
    public static Decision verify(List<TlsaRecord> records, X509Certificate[] chain, String mxHost, Instant now) {
        List<TlsaRecord> usable = usable(records);
        if (usable.isEmpty()) return new NoUsableRecords();
        if (chain == null || chain.length == 0) return new Failed("the server presented no certificate");
        List<String> reasons = new ArrayList<>();
        for (TlsaRecord r : usable) { // RFC 6698 §4.1: any one matching record authenticates
            if (r.usage() == DANE_EE) {
                if (matches(r, chain[0])) return new Authenticated(r, 0); // RFC 7672 §3.1.1: no name or date checks
                reasons.add(describe(r) + ": the leaf does not match");
            } else {
                Optional<Decision> ta = trustAnchor(r, chain, mxHost, now, reasons);
                if (ta.isPresent()) return ta.get();
            }
        }
        return new Failed(String.join("; ", reasons));
    }

    /** RFC 7672 §3.1.2: a DANE-TA record names an issuer; the chain below it must validate to it. */
    private static Optional<Decision> trustAnchor(TlsaRecord r, X509Certificate[] chain, String mxHost, Instant now,
            List<String> reasons) {
        // The anchor is an issuer, never the leaf itself: start at depth 1.
        for (int depth = 1; depth < chain.length; depth++) {
            if (!matches(r, chain[depth])) continue;
            String problem = validate(chain, depth, new TrustAnchor(chain[depth], null), mxHost, now);
            if (problem == null) return Optional.of(new Authenticated(r, depth));
            reasons.add(describe(r) + ": matches depth " + depth + " but " + problem);
            return Optional.empty();
        }
        // RFC 7672 §3.1.2: a 2 1 0 record carries the whole key, so the server may leave the anchor out.
        if (r.selector() == SELECTOR_SPKI && r.matchingType() == MATCH_FULL) {
            Optional<PublicKey> key = publicKey(r.data());
            if (key.isPresent()) {
                X509Certificate top = chain[chain.length - 1];
                X500Principal issuer = top.getIssuerX500Principal();
                String problem = validate(chain, chain.length, new TrustAnchor(issuer, key.get(), null), mxHost, now);
                if (problem == null) return Optional.of(new Authenticated(r, -1));
                reasons.add(describe(r) + ": the chain does not validate to the key: " + problem);
                return Optional.empty();
            }
        }
        reasons.add(describe(r) + ": no certificate of the chain matches");
        return Optional.empty();
    }

    /** Validates {@code chain[0 .. length-1]} to {@code anchor} at {@code now}, then the leaf's name; null when it passes. */
    private static String validate(X509Certificate[] chain, int length, TrustAnchor anchor, String mxHost, Instant now) {
        try {
            CertPath path = CertificateFactory.getInstance("X.509").generateCertPath(Arrays.asList(chain).subList(0, length));
            PKIXParameters parameters = new PKIXParameters(Set.of(anchor));
            parameters.setRevocationEnabled(false); // DANE replaces revocation by the TTL of the TLSA records
            parameters.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(path, parameters);
        } catch (GeneralSecurityException e) {
            return "the chain does not validate: " + e.getMessage();
        }
        if (!namesHost(chain[0], mxHost)) return "the certificate does not name " + mxHost;
        return null;
    }

    /** Whether the record's association data matches the certificate (RFC 6698 §2.1.2, §2.1.3). */
    static boolean matches(TlsaRecord r, X509Certificate certificate) {
        byte[] selected;
        try {
            selected = r.selector() == SELECTOR_CERT ? certificate.getEncoded() : certificate.getPublicKey().getEncoded();
        } catch (CertificateEncodingException e) {
            return false;
        }
        byte[] associated = switch (r.matchingType()) {
            case MATCH_FULL -> selected;
            case MATCH_SHA256 -> digest("SHA-256", selected);
            case MATCH_SHA512 -> digest("SHA-512", selected);
            default -> null;
        };
        return associated != null && MessageDigest.isEqual(associated, r.data());
    }

    /**
     * RFC 7672 §3.2.3: the certificate's DNS subject alternative names (its common name only when
     * it has none) must include the host; a wildcard is a whole leftmost label standing for one label.
     */
    static boolean namesHost(X509Certificate certificate, String host) {
        String reference = normalize(host);
        List<String> names = new ArrayList<>();
        try {
            var alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.get(0) instanceof Integer type && type == DNS_NAME && entry.get(1) instanceof String name) {
                        names.add(name);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return false;
        }
        if (names.isEmpty()) commonName(certificate.getSubjectX500Principal()).ifPresent(names::add);
        for (String name : names) {
            String n = normalize(name);
            if (n.equals(reference)) return true;
            if (n.startsWith("*.")) {
                int dot = reference.indexOf('.');
                if (dot > 0 && reference.substring(dot + 1).equals(n.substring(2))) return true;
            }
        }
        return false;
    }

    private static Optional<String> commonName(X500Principal subject) {
        try {
            for (Rdn rdn : new LdapName(subject.getName(X500Principal.RFC2253)).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) return Optional.of(rdn.getValue().toString());
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static Optional<PublicKey> publicKey(byte[] spki) {
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return Optional.of(KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(spki)));
            } catch (GeneralSecurityException e) {
                // not a key of this algorithm; try the next
            }
        }
        return Optional.empty();
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + algorithm, e);
        }
    }

    /** A record in presentation form, its data abbreviated: {@code 3 1 1 8f3a…}. */
    static String describe(TlsaRecord r) {
        String hex = java.util.HexFormat.of().formatHex(r.data());
        return r.usage() + " " + r.selector() + " " + r.matchingType() + " " + (hex.length() > 16 ? hex.substring(0, 16) + "…" : hex);
    }
}
