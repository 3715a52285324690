package org.castellan.server.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.CertificateForPassword;
import org.castellan.security.mailauth.Dmarc;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.store.objects.ObjectStoreSettings;

/**
 * Every key of {@code castellan.toml}, described once: its table, type, default and meaning.
 * The reader accepts exactly these keys and takes defaults from here, the template and
 * {@code docs/configuration.md} are rendered from here, so none of them can drift from another.
 */
public final class ConfigKeys {

    /** The longest {@code shutdown-grace}: a stuck session must not keep a restart waiting for ever. */
    static final Duration MAX_SHUTDOWN_GRACE = Duration.ofHours(1);

    /** The tables of the file, in the order they are documented and rendered. */
    public enum Section {
        SERVER("server", false, "The server's identity, where it keeps its state, and the part it plays."),
        STORE("store", false, "Where mail is stored."),
        STORE_OBJECT_STORE("store.object-store", false, "Message bodies of the PostgreSQL store in an S3-compatible"
                + " object store (AWS S3, MinIO, Ceph RGW) instead of PostgreSQL: bodies larger than inline-max are"
                + " objects named by their SHA-256, written before the message is acknowledged; a body no message"
                + " uses any more is deleted after a grace period of an hour. Off unless bucket is set; the embedded"
                + " store keeps its bodies in its own directory."
                + " docs/store.md, \"Bodies in an object store\"."),
        TLS("tls", false, "One set of TLS settings shared by every listener (and by the link between"
                + " edge and mailbox nodes)."),
        AUTH("auth", false, "How credentials are stored and checked."),
        LOG("log", false, "What the server's log (castellan serve, castellan quickstart) looks like and where"
                + " it goes besides standard error, which systemd keeps in its journal. Sessions are logged with"
                + " their connection id; passwords, SASL payloads, keys and message bodies never are."),
        SMTP("smtp", false, "How the MX listeners (protocol \"smtp\") treat a client that guesses recipients"
                + " (directory harvesting): every unknown recipient is refused with 550 5.1.1, and past these"
                + " counts, per session and per client host (IPv4 address, IPv6 /64) over a window, replies"
                + " slow down and then the session ends with 421 4.7.0, as Postfix's smtpd_soft_error_limit,"
                + " smtpd_error_sleep_time, smtpd_hard_error_limit and anvil rate limits do. Submission"
                + " listeners, where clients have logged in, are not affected."),
        DNS("dns", false, "How outbound routing and mail authentication (SPF, DKIM, DMARC) ask DNS:"
                + " which recursive resolvers, and whether their answers are validated with DNSSEC by the"
                + " server itself (a bogus answer is a temporary failure; only validated answers make DANE"
                + " apply). docs/outbound.md §3."),
        MAIL_AUTH("mail-auth", false, "SPF (RFC 7208), DKIM and DMARC (RFC 7489) checks of the mail the MX listeners"
                + " receive: the results go into an Authentication-Results field (RFC 8601) with the server's"
                + " hostname, any such field the message already had is removed, and a message failing DMARC"
                + " is treated as its From domain's policy and these keys say. DMARC reports are not sent."
                + " Submission listeners are not checked."),
        KERBEROS("kerberos", false, "SASL GSSAPI (Kerberos V5, RFC 4752) on IMAP, POP3 and submission: where the"
                + " service keys are and how a client's principal names an account (docs/authentication.md). Off"
                + " unless keytab is set. GSSAPI is offered under the same conditions as passwords: with TLS or"
                + " where the listener allows cleartext, and with a client certificate where the listener asks for"
                + " one."),
        ENROLL("enroll", false, "Certificate enrollment over HTTPS (EST, RFC 7030; docs/http.md): how long the"
                + " certificates it issues last, and whether they wait for the operator's approval. Enrollment is served on listeners with protocol \"https\" when the"
                + " built-in CA exists."),
        DIRECTORY("directory", false, "The certificate directory on listeners with protocol \"ldaps\" and \"ldap\" (docs/ldap.md):"
                + " the built-in user CA's valid certificates by address, as userCertificate;binary and"
                + " userSMIMECertificate, for mail clients that look up a recipient's S/MIME certificate. What it"
                + " reveals and to whom: docs/security.md."),
        DIRECTORY_PUBLISH("directory.publish", false, "Publishing the user certificates to an existing enterprise"
                + " directory (OpenLDAP, Active Directory): when the built-in CA issues a user certificate it is added"
                + " to the userCertificate;binary of the entry (mail=<address>) under base-dn, and a revoked or expired"
                + " one is removed; castellan directory publish brings every entry up to date. Certificates from other"
                + " issuers in those entries are left alone. Off unless url is set. docs/kms.md."),
        OUTBOUND("outbound", false, "How mail to other domains is sent (docs/outbound.md): the name given in"
                + " EHLO, the RFC 5321 §4.5.3.2 timeouts of each session, the retry schedule and the limits per"
                + " destination (a static route, or the recipient domain)."),
        OUTBOUND_ROUTE("outbound.route", true, "Static routes, like Postfix's transport maps and relayhost: mail"
                + " for domain (or for every domain, \"*\") goes to next-hop instead of the domain's MX hosts. The"
                + " first matching route in file order wins."),
        OUTBOUND_TLS_POLICY("outbound.tls-policy", true, "The operator's TLS policy for one recipient domain whose mail"
                + " goes to its MX hosts (no static route), like Postfix's smtp_tls_policy_maps: added to what the"
                + " domain publishes (DANE, MTA-STS), the stricter applying to each MX host; where TLS is"
                + " required and not to be had the mail is deferred, never sent in clear. docs/outbound.md §5."),
        NODE("node", false, "The node certificate this node presents on the link between edge and mailbox nodes"
                + " (docs/roles.md), issued by the built-in node CA with castellan node add NAME --role edge|mailbox."
                + " Required on an edge; on a mailbox node the link listeners present it instead of the server"
                + " certificate of [tls], so that an edge can check it names the node it meant to reach."),
        EDGE("edge", false, "role = \"edge\" only: the mailbox nodes it relays"
                + " logged-in IMAP, POP3 and submission sessions and its MX mail to over the link (docs/roles.md). An account goes to the node"
                + " its placement in the directory names, or to default-node when it has none; HTTPS and LDAPS"
                + " connections, which need the built-in CA, go to default-node."),
        LISTENER("listener", true, "One [[listener]] table per socket. Each needs name, protocol and port."),
        RULE("rule", true, "Connection rules, evaluated in file order for every accepted connection, before"
                + " TLS: the first rule whose cidr contains the remote address and whose listeners include"
                + " the listener decides; with no match the connection is allowed."),
        OAUTH_ISSUER("oauth-issuer", true, "One [[oauth-issuer]] table per OAuth 2.0 authorization server whose JWT"
                + " access tokens (RFC 9068) log users in with SASL OAUTHBEARER (RFC 7628) and XOAUTH2 on IMAP,"
                + " POP3 and submission, where passwords are accepted (TLS, or cleartext-auth). Without one these"
                + " mechanisms are not offered. docs/authentication.md, OAuth.");

        private final String tomlName;
        private final boolean array;
        private final String description;

        Section(String tomlName, boolean array, String description) {
            this.tomlName = tomlName;
            this.array = array;
            this.description = description;
        }

        /** The name in the file: {@code server}, {@code listener}. */
        public String tomlName() {
            return tomlName;
        }

        /** Whether the table is written {@code [[name]]}, once per entry. */
        public boolean array() {
            return array;
        }

        /** What the table is for. */
        public String description() {
            return description;
        }

        /** The header as written in the file: {@code [server]} or {@code [[listener]]}. */
        public String header() {
            return array ? "[[" + tomlName + "]]" : "[" + tomlName + "]";
        }

        /** The section named {@code tomlName} in the file, if any. */
        public static Optional<Section> byName(String tomlName) {
            return Arrays.stream(values()).filter(s -> s.tomlName.equals(tomlName)).findFirst();
        }
    }

    /** The type of a key's value; each names the form it expects in error messages. */
    public enum Type {
        STRING("string"),
        NAME("name"),
        HOSTNAME("host name"),
        ADDRESS("IP address"),
        PATH("path"),
        INTEGER("integer"),
        BOOLEAN("boolean"),
        DURATION("duration"),
        SIZE("size"),
        CHOICE("choice"),
        CIDR("CIDR"),
        STRINGS("array of strings"),
        PATHS("array of paths"),
        CIDRS("array of CIDRs"),
        NEXT_HOPS("host:port or array of them");

        private final String label;

        Type(String label) {
            this.label = label;
        }

        /** How the documentation names the type. */
        public String label() {
            return label;
        }
    }

    /**
     * One key.
     *
     * @param choices the accepted values of a {@link Type#CHOICE}, else empty
     * @param min the smallest integer (or duration in milliseconds) accepted, for those types
     * @param max the largest integer (or duration in milliseconds) accepted, for those types
     * @param defaultValue the default exactly as it would be written in the file, or null if the
     *     key is required
     */
    public record Key(Section section, String name, Type type, List<String> choices, long min, long max,
                      String defaultValue, String description) {

        public Key {
            choices = List.copyOf(choices);
        }

        /** {@code server.hostname}; array tables without an index: {@code listener.port}. */
        public String path() {
            return section.tomlName() + "." + name;
        }

        /** Whether the key has no default and must be written. */
        public boolean required() {
            return defaultValue == null;
        }

        /** What a valid value looks like, as error messages say it after "expected". */
        public String expected() {
            return switch (type) {
                case STRING -> "a string in double quotes";
                case NAME -> "a name of letters, digits, - and _ in double quotes, such as \"imap\"";
                case HOSTNAME -> "a host name in double quotes, such as \"mail.example.org\"";
                case ADDRESS -> "an IP address or \"localhost\" in double quotes, such as \"0.0.0.0\" or \"::1\"";
                case PATH -> "a path in double quotes";
                case INTEGER -> "an integer from " + min + " to " + max;
                case BOOLEAN -> "true or false";
                case DURATION -> "a duration from " + formatDuration(min) + " to " + formatDuration(max)
                        + " such as \"250ms\", \"30s\", \"5m\" or \"1h\"";
                case SIZE -> "a size from " + formatSize(min) + " to " + formatSize(max)
                        + " such as \"512KB\", \"100MB\" or \"1GB\"";
                case CHOICE -> "one of " + String.join(", ", choices.stream().map(c -> "\"" + c + "\"").toList());
                case CIDR -> "a CIDR in double quotes, such as \"192.0.2.0/24\" or \"2001:db8::/32\"";
                case STRINGS -> "an array of strings on one line, such as [\"a\", \"b\"]";
                case PATHS -> "an array of paths on one line, such as [\"ca.pem\"]";
                case CIDRS -> "an array of CIDRs on one line, such as [\"192.0.2.0/24\", \"2001:db8::/32\"]";
                case NEXT_HOPS -> "\"host:port\" or an array of them on one line, such as \"relay.example.net:587\""
                        + " or [\"mx1.example.net:25\", \"[2001:db8::25]:25\"]";
            };
        }
    }

    private static final List<Key> KEYS = List.of(
            key(Section.SERVER, "hostname", Type.HOSTNAME, null,
                    "Fully qualified name of this server, announced in the SMTP, IMAP and POP3 greetings and"
                            + " used as the TLS server name."),
            key(Section.SERVER, "data-dir", Type.PATH, null,
                    "Directory holding all state: mail, keys, certificates, the certificate authority. A relative"
                            + " path is relative to the directory of the configuration file."),
            choice(Section.SERVER, "role", Role.class, Role.ALL,
                    "\"all\" runs everything in one process; \"edge\" terminates TLS, pre-authenticates and"
                            + " proxies to mailbox nodes without storing mail; \"mailbox\" stores mail and serves edges."
                            + " A mailbox node has no client listener (imap, pop3, submission, smtp, https, ldap, ldaps),"
                            + " only link listeners (and http). An edge needs [node] and [edge], serves imap, pop3,"
                            + " submission and smtp listeners and relays their sessions after login to the mailbox"
                            + " nodes, and https and ldaps listeners, relayed to the default node from their first byte"
                            + " (and http, served by itself; not ldap, whose StartTLS it does not relay); it writes no"
                            + " mailbox: mail its smtp listeners take waits in its relay"
                            + " queue (data-dir/relay-queue) until the recipient's node takes it (docs/roles.md)."),
            new Key(Section.SERVER, "shutdown-grace", Type.DURATION, List.of(), 0, MAX_SHUTDOWN_GRACE.toMillis(),
                    "\"30s\"", "How long a shutdown waits for sessions to finish before closing them."),
            key(Section.SERVER, "admin-socket", Type.PATH, "\"admin.sock\"",
                    "Unix socket through which the castellan command line manages the running server (castellan"
                            + " sessions, sessions kick). Created 0600, so only the server's user (and root) may connect;"
                            + " a missing directory is created 0700. Relative to data-dir."),
            new Key(Section.SERVER, "max-connections", Type.INTEGER, List.of(), 1, ConnectionLimits.MAX_CONNECTIONS,
                    Integer.toString(Server.DEFAULT_MAX_CONNECTIONS),
                    "Live client connections of all listeners together. One more is refused at once (SMTP 421"
                            + " 4.7.0, IMAP * BYE, POP3 -ERR [SYS/TEMP], nothing on implicit TLS) and closed, so a"
                            + " flood never takes the file descriptors the server needs to accept and serve. The"
                            + " server lowers it to half its file-descriptor limit (each connection may need a second"
                            + " descriptor for a message it spools), and says so in its log and in castellan audit."),

            choice(Section.STORE, "kind", StoreKind.class, StoreKind.EMBEDDED,
                    "\"embedded\": SQLite for metadata and a directory of message files; nothing else to install."
                            + " \"postgres\": a PostgreSQL database (url, user, password-file, pool-size) that several"
                            + " nodes may share; it must run with synchronous_commit = on."),
            key(Section.STORE, "directory", Type.PATH, "\"mail\"",
                    "Where the store keeps its database and message files. Relative to data-dir."),
            key(Section.STORE, "url", Type.STRING, "\"\"",
                    "kind = \"postgres\" only: the database, as \"jdbc:postgresql://host[:port]/database\" or"
                            + " \"postgres://host[:port]/database\" (converted), with optional ?parameters such as"
                            + " sslmode=verify-full. No user or password in it: those are user and password-file."),
            key(Section.STORE, "user", Type.STRING, "\"\"",
                    "kind = \"postgres\" only: the PostgreSQL role the server logs in as."),
            key(Section.STORE, "password-file", Type.PATH, "\"\"",
                    "kind = \"postgres\" only: file whose first line is the role's password; it must be readable"
                            + " by the server's user only (0600 or 0400). \"\" for a login without a password."
                            + " Relative to data-dir."),
            new Key(Section.STORE, "pool-size", Type.INTEGER, List.of(), 1, Store.MAX_POOL_SIZE,
                    Integer.toString(Store.DEFAULT_POOL_SIZE),
                    "kind = \"postgres\" only: the most connections this node holds open to PostgreSQL at once;"
                            + " each node also holds one more, for the notifications of other nodes' changes."),

            key(Section.STORE_OBJECT_STORE, "endpoint", Type.STRING, "\"\"",
                    "The service's URL, such as \"https://minio.example.org:9000\"; \"\" for AWS S3, whose endpoint"
                            + " follows from region."),
            key(Section.STORE_OBJECT_STORE, "region", Type.STRING, "\"us-east-1\"",
                    "The region requests are signed for (SigV4); MinIO and Ceph RGW accept their configured one."),
            key(Section.STORE_OBJECT_STORE, "bucket", Type.STRING, "\"\"",
                    "An existing bucket the credentials may read, write and delete objects in; bodies are kept"
                            + " under blobs/. Empty: every body stays in PostgreSQL."),
            key(Section.STORE_OBJECT_STORE, "access-key-file", Type.PATH, "\"\"",
                    "File whose first line is the access key id. Relative to data-dir."),
            key(Section.STORE_OBJECT_STORE, "secret-key-file", Type.PATH, "\"\"",
                    "File whose first line is the secret access key; it is refused if group or others may read"
                            + " it (chmod 600). Relative to data-dir."),
            key(Section.STORE_OBJECT_STORE, "path-style", Type.BOOLEAN, "true",
                    "Requests name the bucket in the path (http://host/bucket/key), as MinIO and Ceph RGW expect;"
                            + " false for virtual-host names (http://bucket.host/key)."),
            key(Section.STORE_OBJECT_STORE, "sse", Type.STRING, "\"\"",
                    "Server-side encryption asked for on every put: \"AES256\" (keys the service manages) or"
                            + " \"aws:kms\"; \"\" for none. A service that does not offer it refuses the put, and the"
                            + " delivery fails temporarily."),
            key(Section.STORE_OBJECT_STORE, "kms-key-id", Type.STRING, "\"\"",
                    "With sse = \"aws:kms\": the KMS key; \"\" for the bucket's default key."),
            new Key(Section.STORE_OBJECT_STORE, "inline-max", Type.SIZE, List.of(), 0, ObjectStorage.MAX_INLINE_MAX,
                    "\"" + formatSize(ObjectStoreSettings.DEFAULT_INLINE_MAX) + "\"",
                    "Bodies up to this size stay in PostgreSQL, sparing a round trip to the object store for"
                            + " most mail; \"0KB\" sends every body there."),

            choice(Section.TLS, "preset", TlsPolicy.Preset.class, TlsPolicy.Preset.INTERMEDIATE,
                    "\"modern\" allows TLS 1.3 only; \"intermediate\" allows TLS 1.2 and 1.3 with forward-secret"
                            + " AEAD ciphers, for older clients."),
            key(Section.TLS, "certificate", Type.PATH, "\"tls/chain.pem\"",
                    "PEM file with the server certificate followed by its intermediate certificates. Must exist"
                            + " when a listener uses TLS. Relative to data-dir."),
            key(Section.TLS, "key", Type.PATH, "\"tls/key.pem\"",
                    "PEM file with the certificate's private key; keep it readable by the server's user only"
                            + " (0600). Must exist when a listener uses TLS. Relative to data-dir."),
            key(Section.TLS, "pki-directory", Type.PATH, "\"pki\"",
                    "Directory of the built-in certificate authority that issues device and user certificates."
                            + " Relative to data-dir."),
            key(Section.TLS, "pki-public-url", Type.STRING, "\"\"",
                    "The URL under which the built-in CA's OCSP responder (/ocsp), CRLs (/crl/<ca>.crl) and CA"
                            + " certificates (/ca/<ca>.crt) are published, such as \"http://mail.example.org\" (served"
                            + " by a protocol = \"http\" listener on port 80) or an https URL (served by the HTTPS"
                            + " listener). Prefer http: relying parties fetch OCSP and CRLs over plain HTTP, the"
                            + " objects are signed, and an https URL makes checking the server's own certificate"
                            + " circular (docs/kms.md). Certificates the CA issues from then on name these in their"
                            + " Authority Information Access and CRL distribution points. Empty: they name none, since"
                            + " a URL printed into a certificate cannot be taken back for its lifetime and must point"
                            + " at a listener that exists. TLS listeners staple their own status anyway."),
            key(Section.TLS, "client-ca-files", Type.PATHS, "[]",
                    "PEM files of further certificate authorities whose client certificates are accepted, besides"
                            + " the built-in one. Each must exist. Relative to data-dir."),
            key(Section.TLS, "crl-files", Type.PATHS, "[]",
                    "PEM CRLs of the client-ca-files authorities, each signed by one of them. A client"
                            + " certificate from a CA with a CRL here is refused when the CRL lists it or is out"
                            + " of date (fail closed); one from a CA without a CRL here is not checked for"
                            + " revocation. Re-read within a second of a change; live sessions of a certificate a"
                            + " new CRL lists are closed. Each must exist. Relative to data-dir."),
            key(Section.TLS, "sni-certificates", Type.PATHS, "[]",
                    "Further server certificates, chosen by the host name the client asks for (SNI): each entry"
                            + " is a PEM file holding a certificate chain (leaf first) and its private key (keep it"
                            + " 0600), or a directory of such *.pem files. A certificate serves the DNS names of its"
                            + " subjectAltName, exactly or by a \"*.\" wildcard for one label; clients that send no"
                            + " name or an unknown one get the certificate above. Re-read within a second of a change. Each"
                            + " must exist. Relative to data-dir."),
            choice(Section.TLS, "provider", TlsPolicy.Provider.class, TlsPolicy.Provider.BORINGSSL,
                    "The TLS implementation: \"boringssl\" (netty-tcnative; the JDK's TLS with a warning if it"
                            + " cannot load) or \"jdk\" (the JDK's TLS, slower handshakes). Both give TLS 1.3"
                            + " connections the tls-exporter channel binding (RFC 9266; \"jdk\" from JDK 25 on) and"
                            + " TLS 1.2 ones tls-server-end-point, so SCRAM-SHA-256-PLUS is offered on every TLS"
                            + " connection."),
            choice(Section.TLS, "ocsp", TlsPolicy.OcspMode.class, TlsPolicy.OcspMode.OFF,
                    "OCSP for client certificates whose issuer names a responder (Authority Information Access)"
                            + " in client-ca-files: \"soft-fail\" asks it and accepts the certificate, logged, when"
                            + " the responder gives no usable answer; \"hard-fail\" then refuses it; \"off\" never"
                            + " asks. A \"revoked\" answer is always refused, and closes live sessions of that"
                            + " certificate when learned later. Answers are kept until their nextUpdate (at most a"
                            + " day). One setting for every listener: a certificate is revoked whatever door it"
                            + " comes through."),

            new Key(Section.AUTH, "scram-iterations", Type.INTEGER, List.of(), Auth.MIN_SCRAM_ITERATIONS,
                    Auth.MAX_SCRAM_ITERATIONS, Integer.toString(Auth.DEFAULT_SCRAM_ITERATIONS),
                    "PBKDF2 iterations for new SCRAM-SHA-256 password secrets; RFC 7677 requires at least 4096, and"
                            + " Cyrus SASL clients (mbsync) refuse more than " + Auth.MAX_SCRAM_ITERATIONS + "."
                            + " SCRAM clients compute it at every login; PLAIN and LOGIN cost the server as much"
                            + " once per password and client. A secret with another count is derived anew at the"
                            + " account's next successful PLAIN, LOGIN or password-command login, or when the"
                            + " password is set again (docs/authentication.md)."),
            new Key(Section.AUTH, "free-failures", Type.INTEGER, List.of(), 0, Auth.MAX_FAILURES,
                    Integer.toString(AuthSettings.DEFAULT_FREE_FAILURES),
                    "Failed logins of one client host (IPv4 address, IPv6 /64), or of one account from one"
                            + " network (IPv4 /24, IPv6 /64), before replies are delayed. An IPv4 /24 as a whole"
                            + " gets " + AuthSettings.DEFAULT_NETWORK_FREE_FAILURES + " and is blocked after "
                            + AuthSettings.DEFAULT_NETWORK_BLOCK_AFTER + ". A connection with a verified client"
                            + " certificate is counted only against its certificate."),
            new Key(Section.AUTH, "block-after", Type.INTEGER, List.of(), 1, Auth.MAX_FAILURES,
                    Integer.toString(AuthSettings.DEFAULT_BLOCK_AFTER),
                    "Failed logins after which that host or account-and-network pair is refused at once (a"
                            + " temporary failure) for block-duration; more than free-failures. castellan blocks"
                            + " list shows the blocks and castellan blocks clear lifts them."),
            new Key(Section.AUTH, "max-in-flight-per-host", Type.INTEGER, List.of(), 1, AuthSettings.MAX_IN_FLIGHT,
                    Integer.toString(AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_HOST),
                    "Password checks of one client host (IPv4 address, IPv6 /64), or of one client certificate,"
                            + " admitted at once; further attempts from it wait for a place, in arrival order, rather"
                            + " than being refused (at most " + AuthSettings.MAX_WAITING_PER_KEY + " waiting; one more"
                            + " gets a temporary failure), and one whose connection closes leaves the line. Each check"
                            + " is counted before it starts, so besides this cap a host never has more in flight"
                            + " than the failures it has left before block-after: guesses sent together are counted"
                            + " as if sent one after the other, and an attempt that could only be refused is refused"
                            + " at once rather than kept waiting (docs/authentication.md)."),
            new Key(Section.AUTH, "max-in-flight-per-account", Type.INTEGER, List.of(), 1, AuthSettings.MAX_IN_FLIGHT,
                    Integer.toString(AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_ACCOUNT),
                    "Password checks of one account from one network (IPv4 /24, IPv6 /64) admitted at once:"
                            + " enough for one person's devices and a client's parallel connections to be checked"
                            + " together, not for a guesser. Further attempts wait for a place (at most "
                            + AuthSettings.MAX_WAITING_PER_KEY + ") as for max-in-flight-per-host."),
            new Key(Section.AUTH, "first-delay", Type.DURATION, List.of(), 0, Auth.MAX_DELAY.toMillis(),
                    "\"" + AuthSettings.DEFAULT_FIRST_DELAY.toMillis() + "ms\"",
                    "Delay of the reply to the first attempt beyond free-failures; it doubles with each further"
                            + " failure up to max-delay. Successes from such a source wait too, so that a quick"
                            + " answer never means success."),
            new Key(Section.AUTH, "max-delay", Type.DURATION, List.of(), 0, Auth.MAX_DELAY.toMillis(),
                    "\"" + AuthSettings.DEFAULT_MAX_DELAY.toSeconds() + "s\"",
                    "The longest delay; not shorter than first-delay."),
            new Key(Section.AUTH, "block-duration", Type.DURATION, List.of(), 1000, Auth.MAX_BLOCK_DURATION.toMillis(),
                    "\"" + AuthSettings.DEFAULT_BLOCK_DURATION.toMinutes() + "m\"",
                    "How long a block lasts; the count starts afresh after it."),
            new Key(Section.AUTH, "login-timeout", Type.DURATION, List.of(), Auth.MIN_LOGIN_TIMEOUT.toMillis(),
                    Auth.MAX_LOGIN_TIMEOUT.toMillis(), "\"" + Auth.DEFAULT_LOGIN_TIMEOUT.toSeconds() + "s\"",
                    "How long an IMAP, POP3 or submission connection may stay open without logging in, from"
                            + " the moment it is accepted (the TLS handshake, STARTTLS, and cancelled or stalled SASL"
                            + " exchanges included; bytes trickling in do not extend it); then the server says goodbye"
                            + " and closes it, or just closes it while TLS is still being negotiated. SMTP to the MX"
                            + " listeners is not affected: command-deadline and min-data-rate bound it."),
            key(Section.AUTH, "submission-accounts", Type.STRINGS, "[]",
                    "Accounts (addresses) that act as message submission servers: a session logged in as one"
                            + " of them may fetch IMAP URLs authorized for \"submit+\" (RFC 4467 URLAUTH), which"
                            + " users make so that their submission server can send a message they keep in their"
                            + " mailbox. Give it only to the account your submission server logs in as."),
            new Key(Section.AUTH, "password-min-length", Type.INTEGER, List.of(), Auth.MIN_PASSWORD_MIN_LENGTH,
                    Auth.MAX_PASSWORD_MIN_LENGTH, Integer.toString(Auth.DEFAULT_PASSWORD_MIN_LENGTH),
                    "The fewest characters (Unicode code points) castellan user add and user passwd accept in a"
                            + " password read with --password-stdin; NIST SP 800-63B-4 asks for 15 where a password"
                            + " logs in alone, and allows 8 only as part of two factors. Generated passwords have "
                            + org.castellan.security.auth.Passwords.LENGTH + "."),

            choice(Section.LOG, "format", LogFormat.class, LogFormat.TEXT,
                    "\"text\": one line per event, TIME LEVEL Class: message. \"json\": one JSON object per line"
                            + " with time, level, logger, thread, message, connection (the connection's id, on lines"
                            + " about one connection) and exception (the stack trace, when there is one). Line breaks"
                            + " and other control characters in a message are escaped in both, so that text from a"
                            + " client can never start a line of its own. For standard error and the file alike."),
            key(Section.LOG, "file", Type.PATH, "\"\"",
                    "A file the log is written to as well, such as \"/var/log/castellan/castellan.log\" (the"
                            + " Debian package makes that directory for the server's user); \"\" writes none."
                            + " Missing directories are created; the server does not start when it cannot write"
                            + " there. Relative to data-dir. May not contain %."),
            choice(Section.LOG, "rotate", LogRotation.class, LogRotation.SIZE,
                    "\"size\": when the file reaches max-size it is renamed FILE.1 (FILE.1 becomes FILE.2, and so"
                            + " on) and files beyond keep are deleted. \"daily\": at midnight (local time), and within"
                            + " a day at max-size, it is renamed FILE.YYYY-MM-DD.N; files older than keep days are"
                            + " deleted, and the oldest ones as well while all together exceed keep times max-size."),
            new Key(Section.LOG, "max-size", Type.SIZE, List.of(), Log.MIN_MAX_SIZE, Log.MAX_MAX_SIZE,
                    "\"" + formatSize(Log.DEFAULT_MAX_SIZE) + "\"",
                    "The size at which the file is rotated; 1KB is 1024 bytes."),
            new Key(Section.LOG, "keep", Type.INTEGER, List.of(), 1, Log.MAX_KEEP, Integer.toString(Log.DEFAULT_KEEP),
                    "How many rotated files (rotate = \"size\") or days of them (rotate = \"daily\") are kept."),

            new Key(Section.SMTP, "unknown-recipient-delay-after", Type.INTEGER, List.of(), 1, Smtp.MAX_COUNT,
                    Integer.toString(Smtp.DEFAULT_DELAY_AFTER),
                    "Unknown recipients, of a session or of its host within unknown-recipient-window, after which"
                            + " every further reply of the session waits unknown-recipient-delay (without holding a"
                            + " thread). Below unknown-recipient-limit."),
            new Key(Section.SMTP, "unknown-recipient-delay", Type.DURATION, List.of(), 0, Smtp.MAX_DELAY.toMillis(),
                    "\"" + Smtp.DEFAULT_DELAY.toSeconds() + "s\"",
                    "How long each of those replies waits; \"0s\" never delays."),
            new Key(Section.SMTP, "unknown-recipient-limit", Type.INTEGER, List.of(), 2, Smtp.MAX_COUNT,
                    Integer.toString(Smtp.DEFAULT_LIMIT),
                    "Unknown recipients in one session after which the server answers 421 4.7.0 and closes it."),
            new Key(Section.SMTP, "unknown-recipient-source-limit", Type.INTEGER, List.of(), 1, Smtp.MAX_COUNT,
                    Integer.toString(Smtp.DEFAULT_SOURCE_LIMIT),
                    "Unknown recipients of one client host within unknown-recipient-window after which its"
                            + " sessions end with 421 4.7.0 and new ones get 421 4.7.0 in place of the greeting,"
                            + " until the window has passed. A mail server retries later, so nothing is lost."),
            new Key(Section.SMTP, "unknown-recipient-window", Type.DURATION, List.of(), 1000, Smtp.MAX_WINDOW.toMillis(),
                    "\"" + Smtp.DEFAULT_WINDOW.toHours() + "h\"",
                    "How long a host's unknown recipients count, from the first of them; reconnecting does not"
                            + " start it afresh."),

            key(Section.DNS, "resolvers", Type.STRINGS, "[]",
                    "Recursive resolvers to ask, in order: \"192.0.2.53\", \"192.0.2.53:5353\", \"2001:db8::53\""
                            + " or \"[2001:db8::53]:5353\". [] asks those of /etc/resolv.conf. They must pass DNSSEC"
                            + " records through, as recursive resolvers do; behind a forwarder that strips them"
                            + " (some home routers) every answer is bogus and outbound mail waits in the queue, so"
                            + " name another resolver or set dnssec = false. The server validates answers itself."),
            key(Section.DNS, "trust-anchor", Type.PATH, "\"\"",
                    "A file of DS or DNSKEY records in zone-file form, the keys DNSSEC validation starts from;"
                            + " \"\" uses the root zone's key-signing keys built into the server (KSK-2017 and"
                            + " KSK-2024, from IANA's root-anchors.xml). Relative to data-dir."),
            key(Section.DNS, "dnssec", Type.BOOLEAN, "true",
                    "Validate answers with DNSSEC (RFC 4033 to 4035). With false no answer is secure: DANE (RFC"
                            + " 7672) never applies, and forged answers go unnoticed."),
            new Key(Section.DNS, "timeout", Type.DURATION, List.of(), Dns.MIN_TIMEOUT.toMillis(),
                    Dns.MAX_TIMEOUT.toMillis(), "\"" + Dns.DEFAULT_TIMEOUT.toSeconds() + "s\"",
                    "How long one look-up may take, validation included; then it is a temporary failure, and"
                            + " a message waiting on it stays queued for the next attempt."),
            key(Section.NODE, "certificate", Type.PATH, "\"\"",
                    "This node's certificate (PEM), from castellan node join --out DIR"
                            + " (or node add NAME --role edge|mailbox --out DIR);"
                            + " \"\" for none (a mailbox node's links then present the server certificate)."
                            + " Relative to data-dir."),
            key(Section.NODE, "key", Type.PATH, "\"\"",
                    "Its private key (PEM), readable by the server's user only; required with certificate."
                            + " Relative to data-dir."),
            key(Section.EDGE, "nodes", Type.STRINGS, null,
                    "The mailbox nodes, each \"NAME=HOST:PORT\": the node's name as its certificate names it"
                            + " (castellan-node:mailbox/NAME) and the address of its link listener, such as"
                            + " [\"mailbox-1=10.0.0.2:7993\", \"mailbox-2=10.0.0.3:7993\"]. A node's certificate must"
                            + " come from the node CA and name that node, or the link is not used."),
            key(Section.EDGE, "default-node", Type.NAME, null,
                    "The node, one of nodes, of every account without a placement in the directory, and of every"
                            + " HTTPS and LDAPS connection: the node whose data directory holds the built-in CA."),
            new Key(Section.EDGE, "opening-timeout", Type.DURATION, List.of(), 1000, Edge.MAX_OPENING_TIMEOUT.toMillis(),
                    "\"" + Edge.DEFAULT_OPENING_TIMEOUT.toSeconds() + "s\"",
                    "How long connecting to a node, the TLS handshake and the node's answer to the opening line may"
                            + " take; then the login is answered NO [UNAVAILABLE] (IMAP) or -ERR [SYS/TEMP] (POP3), an"
                            + " HTTPS request 503, an LDAPS client the Notice of Disconnection."),
            key(Section.KERBEROS, "keytab", Type.PATH, "\"\"",
                    "The keytab holding the keys of the service principals (kadmin: ktadd -k FILE"
                            + " imap/mail.example.org pop/mail.example.org smtp/mail.example.org); readable by the"
                            + " server's user only. \"\" offers no GSSAPI. Relative to data-dir."),
            key(Section.KERBEROS, "realm", Type.STRING, "\"\"",
                    "The users' Kerberos realm, such as \"EXAMPLE.ORG\"; required with keytab."),
            key(Section.KERBEROS, "protocols", Type.STRINGS, "[\"imap\", \"pop3\", \"smtp\"]",
                    "The protocols that offer GSSAPI: some of \"imap\", \"pop3\" and \"smtp\" (submission)."),
            key(Section.KERBEROS, "imap-principal", Type.STRING, "\"\"",
                    "The service principal IMAP clients get tickets for; \"\" is imap/HOST@REALM, HOST being server.hostname."),
            key(Section.KERBEROS, "pop3-principal", Type.STRING, "\"\"",
                    "The same for POP3; \"\" is pop/HOST@REALM (RFC 5034's service name is \"pop\")."),
            key(Section.KERBEROS, "smtp-principal", Type.STRING, "\"\"",
                    "The same for submission; \"\" is smtp/HOST@REALM."),
            key(Section.KERBEROS, "principals", Type.STRINGS, "[]",
                    "Explicit mappings \"principal=account\", such as [\"alice/admin@EXAMPLE.ORG=alice@example.org\"];"
                            + " consulted first. A principal that maps to no existing account is refused."),
            key(Section.KERBEROS, "realm-domain", Type.STRING, "\"\"",
                    "Strips the realm: a principal NAME@REALM of one component logs in as NAME@DOMAIN, DOMAIN being this key,"
                            + " if that account exists. Principals with an instance (alice/admin) or of another"
                            + " realm need an entry in principals. \"\" maps only through principals."),
            key(Section.MAIL_AUTH, "enabled", Type.BOOLEAN, "true",
                    "Whether MX listeners check SPF, DKIM and DMARC and add Authentication-Results."),
            choice(Section.MAIL_AUTH, "dmarc-reject", Dmarc.Policy.class, MailAuth.DEFAULTS.dmarcReject(),
                    "What a message failing DMARC under p=reject gets: \"reject\" refuses it with 550 5.7.1;"
                            + " \"quarantine\" delivers it to each recipient's Junk mailbox (RFC 6154 \\Junk);"
                            + " \"none\" delivers it as usual."),
            choice(Section.MAIL_AUTH, "dmarc-quarantine", Dmarc.Policy.class, MailAuth.DEFAULTS.dmarcQuarantine(),
                    "The same for a message failing DMARC under p=quarantine."),
            new Key(Section.MAIL_AUTH, "dns-timeout", Type.DURATION, List.of(), 1000, MailAuth.MAX_DNS_TIMEOUT.toMillis(),
                    "\"" + MailAuth.DEFAULT_DNS_TIMEOUT.toSeconds() + "s\"",
                    "How long the checks of one message may spend on DNS in all (RFC 7208 4.6.4 asks for at least"
                            + " 20 seconds); past it they are temperror and the message is delivered as usual."),

            new Key(Section.ENROLL, "device-validity", Type.DURATION, List.of(), Enroll.MIN_VALIDITY.toMillis(),
                    Enroll.MAX_VALIDITY.toMillis(), "\"" + Enroll.DEFAULT_VALIDITY.toDays() + "d\"",
                    "How long a device certificate issued by enrollment lasts; the device renews it with"
                            + " simplereenroll before then."),
            new Key(Section.ENROLL, "user-validity", Type.DURATION, List.of(), Enroll.MIN_VALIDITY.toMillis(),
                    Enroll.MAX_VALIDITY.toMillis(), "\"" + Enroll.DEFAULT_VALIDITY.toDays() + "d\"",
                    "How long a user certificate issued by enrollment lasts."),
            key(Section.ENROLL, "approve", Type.BOOLEAN, "false",
                    "Whether an enrollment (simpleenroll) waits for the operator: it is answered 202 with"
                            + " Retry-After until castellan enroll approve (then the client's repeat gets the"
                            + " certificate) or deny (403). Renewals (simplereenroll) are not held; serverkeygen is"
                            + " refused while this is on."),

            key(Section.DIRECTORY, "base-dn", Type.STRING, "\"\"",
                    "The directory's naming context (RFC 4514), such as \"dc=example,dc=org\"; each address is the"
                            + " entry mail=<address>,ou=people,<base-dn>. Empty: dc= components of server.hostname"
                            + " without its first label (mail.example.org gives dc=example,dc=org)."),
            choice(Section.DIRECTORY, "anonymous", Directory.Anonymous.class, Directory.DEFAULTS.anonymous(),
                    "What a client that has not bound may search for: \"exact\" only addresses named in full, as"
                            + " (mail=alice@example.org) (a search by part of a name, or for every entry, is refused"
                            + " with unwillingToPerform, so the address list cannot be harvested); \"none\" nothing."
                            + " A client bound as an account (simple bind over TLS) may search by substrings."),
            new Key(Section.DIRECTORY, "size-limit", Type.INTEGER, List.of(), 1, Directory.MAX_SIZE_LIMIT,
                    Integer.toString(Directory.DEFAULT_SIZE_LIMIT),
                    "The most entries one search returns; past it the search ends with sizeLimitExceeded"
                            + " (RFC 4511 §4.5.2). A client may ask for fewer."),

            key(Section.DIRECTORY_PUBLISH, "url", Type.STRING, "\"\"",
                    "The directory, as \"ldaps://ldap.example.org\" (TLS from the first byte) or"
                            + " \"ldap://ldap.example.org\" (StartTLS, which must succeed); its certificate is verified"
                            + " against ca-file and its host name. Empty: nothing is published."),
            key(Section.DIRECTORY_PUBLISH, "bind-dn", Type.STRING, "\"\"",
                    "The DN the server binds as, allowed to modify userCertificate of the people entries, such as"
                            + " \"cn=castellan,ou=services,dc=example,dc=org\"."),
            key(Section.DIRECTORY_PUBLISH, "password-file", Type.PATH, "\"\"",
                    "File whose first line is bind-dn's password; keep it 0600. Relative to data-dir."),
            key(Section.DIRECTORY_PUBLISH, "base-dn", Type.STRING, "\"\"",
                    "Where a user's entry is searched for (subtree), by an equality filter on mail, such as"
                            + " \"ou=people,dc=example,dc=org\". An address with no entry, or with more than one, is"
                            + " skipped and reported."),
            key(Section.DIRECTORY_PUBLISH, "ca-file", Type.PATH, "\"\"",
                    "PEM certificates that verify the directory's TLS certificate; \"\" for the system's. Relative to"
                            + " data-dir."),

            key(Section.LISTENER, "name", Type.NAME, null,
                    "Unique name of the listener, used by [[rule]] listeners, in logs and by castellan sessions."),
            choice(Section.LISTENER, "protocol", Protocol.class, null,
                    "\"smtp\" receives mail from other servers (port 25); \"submission\" takes mail from users'"
                            + " clients (587, or 465 with implicit TLS); \"imap\" (143, or 993); \"pop3\" (110, or 995); \"https\" (443,"
                            + " implicit TLS only) serves certificate enrollment (docs/http.md); \"http\" (80, tls = \"none\""
                            + " only) serves the built-in CA's OCSP responder, CRLs and CA certificates and nothing else;"
                            + " \"ldaps\" (636, implicit TLS only) serves the certificate directory ([directory]); \"ldap\""
                            + " (389, tls = \"starttls\" only) serves it after the StartTLS operation; \"link\" (mailbox"
                            + " role only) takes the edge nodes' links: tls = \"implicit\", client-cert = \"require\", TLS 1.3"
                            + " and a node certificate from the node CA only, from the addresses in edges (docs/roles.md)."),
            key(Section.LISTENER, "address", Type.ADDRESS, "\"0.0.0.0\"",
                    "Local address to listen on: \"0.0.0.0\" for every IPv4 address, \"::\" for every IPv6 (and,"
                            + " on most systems, IPv4) address, a single address, or \"localhost\"."),
            new Key(Section.LISTENER, "port", Type.INTEGER, List.of(), 0, Listener.MAX_PORT, null,
                    "TCP port. 0 picks any free port, which is useful only in tests."),
            choice(Section.LISTENER, "tls", TlsMode.class, TlsMode.STARTTLS,
                    "\"implicit\" starts TLS with the first byte (RFC 8314); \"starttls\" upgrades on the client's"
                            + " request (RFC 3207, RFC 9051, RFC 2595); \"none\" never offers TLS."),
            choice(Section.LISTENER, "client-cert", ClientCertMode.class, ClientCertMode.NONE,
                    "\"require\" completes no handshake without a valid client certificate from a trusted CA"
                            + " (the device gate); \"request\" asks for one and continues without; \"none\" does not"
                            + " ask. \"require\" needs tls \"implicit\", so that nothing is sent before the certificate is"
                            + " checked; \"request\" needs \"starttls\" or \"implicit\"."),
            key(Section.LISTENER, "cleartext-auth", Type.BOOLEAN, "false",
                    "Accept passwords before TLS is active. They then cross the network readable by anyone on"
                            + " the path; the security audit reports every listener that allows it."),
            key(Section.LISTENER, "accept-cleartext-risk", Type.BOOLEAN, "false",
                    "Accept the risk of cleartext-auth = true on a listener without implicit TLS: castellan audit"
                            + " still reports it, but no longer fails because of it. Leave it false unless clients"
                            + " that cannot use TLS must log in here, on a network you control."),
            choice(Section.LISTENER, "require-certificate-for-password", CertificateForPassword.class,
                    CertificateForPassword.NO,
                    "Two factors: \"any\" lets a password (or SCRAM, GSSAPI, an OAuth token) log in only on a connection that presented a"
                            + " verified client certificate; \"same-account\" also needs the certificate to name that"
                            + " account; \"no\" accepts a password alone. Not \"no\" needs client-cert \"request\" or"
                            + " \"require\"."),
            key(Section.LISTENER, "proxy-from", Type.CIDRS, "[]",
                    "Addresses of load balancers trusted to send a PROXY protocol header; connections from them"
                            + " take the client's address from that header. Connections from elsewhere do not."),
            new Key(Section.LISTENER, "max-connections-per-address", Type.INTEGER, List.of(), 0,
                    ConnectionLimits.MAX_CONNECTIONS, Integer.toString(ConnectionLimits.DEFAULT_PER_ADDRESS),
                    "Live connections to this listener from one client address (an IPv4 address, an IPv6 /64,"
                            + " which one host can fill). One more is refused at once, as for max-connections,"
                            + " before TLS and before any login; a client certificate does not exempt it. 0 for no"
                            + " cap, which castellan audit reports. On a protocol = \"link\" listener the default is "
                            + ConnectionLimits.DEFAULT_LINKS_PER_EDGE + " (a link carries one relayed session at a time), here and"
                            + " per network."),
            new Key(Section.LISTENER, "max-connections-per-network", Type.INTEGER, List.of(), 0,
                    ConnectionLimits.MAX_CONNECTIONS, Integer.toString(ConnectionLimits.DEFAULT_PER_NETWORK),
                    "Live connections to this listener from one network: an IPv4 /24 or an IPv6 /48, the"
                            + " longest prefixes the Internet routes, so the least address space anyone holding"
                            + " a block has. Not less than max-connections-per-address. 0 for no cap, which castellan"
                            + " audit reports."),
            new Key(Section.LISTENER, "command-deadline", Type.DURATION, List.of(), 1000,
                    ConnectionLimits.MAX_COMMAND_DEADLINE.toMillis(),
                    "\"" + ConnectionLimits.DEFAULT_COMMAND_DEADLINE.toMinutes() + "m\"",
                    "SMTP and submission only: how long a command line may take from its first byte to its"
                            + " end; then the server replies 421 4.4.2 and closes. Bytes trickling in do not extend"
                            + " it. RFC 5321 §4.5.3.2 asks servers to wait at least 5 minutes for a command; shorter"
                            + " values are for a server under attack, as Postfix's smtpd_timeout under stress."),
            new Key(Section.LISTENER, "min-data-rate", Type.INTEGER, List.of(), 0, ConnectionLimits.MAX_MIN_DATA_RATE,
                    Integer.toString(ConnectionLimits.DEFAULT_MIN_DATA_RATE),
                    "SMTP and submission only: octets per second that the content of DATA or of a BDAT chunk"
                            + " must average once command-deadline has passed since it began (Postfix's"
                            + " smtpd_min_data_rate); a slower client gets 421 4.4.2 and is closed, so that content"
                            + " trickled a byte at a time cannot hold a connection for hours. 0 for no floor."),
            key(Section.LISTENER, "edges", Type.CIDRS, "[]",
                    "On a protocol = \"link\" listener, which it must name: the addresses of the edge nodes. Every"
                            + " other address is refused at accept, before TLS, whatever the [[rule]]s say. Only on a link"
                            + " listener."),

            key(Section.OUTBOUND, "hostname", Type.STRING, "\"\"",
                    "The name Castellan gives in EHLO to receiving servers, which may check that it resolves to"
                            + " the sending address; \"\" for server.hostname."),
            timeout("connect-timeout", Outbound.DEFAULT_CONNECT_TIMEOUT,
                    "How long a TCP connection to one address of a receiving host may take (Postfix's"
                            + " smtp_connect_timeout); then the next address is tried."),
            timeout("greeting-timeout", Outbound.DEFAULT_GREETING_TIMEOUT,
                    "How long to wait for the receiver's 220 greeting (RFC 5321 §4.5.3.2.1), and for its replies to"
                            + " EHLO, STARTTLS, RSET and QUIT."),
            timeout("mail-timeout", Outbound.DEFAULT_MAIL_TIMEOUT, "How long to wait for the reply to MAIL (RFC 5321 §4.5.3.2.2)."),
            timeout("rcpt-timeout", Outbound.DEFAULT_RCPT_TIMEOUT, "How long to wait for the reply to each RCPT (RFC 5321 §4.5.3.2.3)."),
            timeout("data-timeout", Outbound.DEFAULT_DATA_TIMEOUT, "How long to wait for the 354 reply to DATA (RFC 5321 §4.5.3.2.4)."),
            timeout("data-block-timeout", Outbound.DEFAULT_DATA_BLOCK_TIMEOUT,
                    "How long each write of the message may take, and each BDAT chunk's reply (RFC 5321 §4.5.3.2.5)."),
            timeout("data-done-timeout", Outbound.DEFAULT_DATA_DONE_TIMEOUT,
                    "How long to wait for the reply after the end of the message (RFC 5321 §4.5.3.2.6)."),
            interval("retry-initial", Outbound.DEFAULT_RETRY_INITIAL, Duration.ofDays(1),
                    "The wait before the second attempt of a deferred recipient; each further wait is twice the"
                            + " last, up to retry-max."),
            interval("retry-max", Outbound.DEFAULT_RETRY_MAX, Duration.ofDays(1), "The longest wait between two attempts."),
            interval("give-up", Outbound.DEFAULT_GIVE_UP, Outbound.MAX_GIVE_UP,
                    "How long after its arrival a recipient still deferred fails (4.4.7, delivery time expired;"
                            + " RFC 5321 §4.5.4.1 asks for at least 4-5 days)."),
            interval("delay-warning", Outbound.DEFAULT_DELAY_WARNING, Outbound.MAX_GIVE_UP,
                    "How long after its arrival a recipient still deferred gets its sender a delay warning (RFC 3464)."),
            new Key(Section.OUTBOUND, "max-connections-per-destination", Type.INTEGER, List.of(), 1,
                    Outbound.MAX_CONNECTIONS_PER_DESTINATION, Integer.toString(Outbound.DEFAULT_CONNECTIONS_PER_DESTINATION),
                    "Sessions open at once to one destination. 5 is where Postfix starts a destination"
                            + " (initial_destination_concurrency) before its feedback raises it; Castellan has no such"
                            + " feedback, so it stays there, below the per-client limits receivers commonly set."),
            new Key(Section.OUTBOUND, "max-messages-per-connection", Type.INTEGER, List.of(), 1,
                    Outbound.MAX_MESSAGES_PER_CONNECTION, Integer.toString(Outbound.DEFAULT_MESSAGES_PER_CONNECTION),
                    "Messages one session carries, with RSET between them, before it ends."),

            key(Section.OUTBOUND_ROUTE, "domain", Type.STRING, null,
                    "The recipient domain the route serves, such as \"example.net\", or \"*\" for every domain"
                            + " (a relay host)."),
            key(Section.OUTBOUND_ROUTE, "next-hop", Type.NEXT_HOPS, null,
                    "Where the mail goes: \"host:port\", or several tried in order until one answers. An IPv6"
                            + " address is written in brackets."),
            choice(Section.OUTBOUND_ROUTE, "tls", List.of(OutboundTls.OPPORTUNISTIC, OutboundTls.REQUIRE,
                            OutboundTls.VERIFY_NAME, OutboundTls.NONE), OutboundTls.OPPORTUNISTIC,
                    "\"opportunistic\" uses STARTTLS when offered, accepting any certificate; \"require\" defers the"
                            + " mail rather than send it without TLS; \"verify-name\" also requires a certificate that"
                            + " chains to the system's CAs (or ca-file) and names the next hop (RFC 6125); \"none\""
                            + " never uses TLS."),
            key(Section.OUTBOUND_ROUTE, "ca-file", Type.PATH, "\"\"",
                    "With tls = \"verify-name\": a PEM file of CA certificates trusted for this route besides the"
                            + " system's; \"\" for none. Relative to data-dir."),

            key(Section.OUTBOUND_TLS_POLICY, "domain", Type.STRING, null,
                    "The recipient domain, such as \"example.net\"; at most one entry per domain, and none for a"
                            + " domain an [[outbound.route]] serves (the route's tls applies there)."),
            choice(Section.OUTBOUND_TLS_POLICY, "tls", Outbound.TlsPolicy.CHOICES, null,
                    "\"require\": STARTTLS or no delivery, any certificate (4.7.4 when not offered); \"verify-name\":"
                            + " also a certificate that chains to the system's CAs (or ca-file) and names the MX host"
                            + " (RFC 6125), else 4.7.5; \"dane-only\": DANE (RFC 7672) must apply to the MX host and"
                            + " authenticate it, so a host without DNSSEC-secure, usable TLSA records is not used"
                            + " (4.7.5), with no fall-back to MTA-STS or opportunistic TLS. DANE or MTA-STS still apply"
                            + " where stricter, and a message's TLS-Required: No (RFC 8689) does not lift this policy."),
            key(Section.OUTBOUND_TLS_POLICY, "ca-file", Type.PATH, "\"\"",
                    "With tls = \"verify-name\": a PEM file of CA certificates trusted for this domain's MX hosts"
                            + " besides the system's; \"\" for none. Relative to data-dir."),

            key(Section.RULE, "cidr", Type.CIDR, null,
                    "Remote addresses the rule applies to: a CIDR such as \"192.0.2.0/24\" or \"2001:db8::/32\","
                            + " or one address. IPv4 clients reaching an IPv6 socket match IPv4 rules."),
            key(Section.RULE, "listeners", Type.STRINGS, "[\"*\"]",
                    "Names of the listeners the rule applies to, or [\"*\"] for all of them."),
            choice(Section.RULE, "action", RuleAction.class, null,
                    "\"allow\" accepts; \"deny\" closes the connection before TLS, sending nothing;"
                            + " \"request-cert\" and \"require-cert\" accept but ask for, or require, a client"
                            + " certificate, whatever the listener's client-cert says. \"require-cert\" may only apply to"
                            + " listeners with tls \"implicit\"."),

            key(Section.OAUTH_ISSUER, "issuer", Type.STRING, null,
                    "The issuer's identifier, an https URL, compared exactly with the iss of its tokens."),
            key(Section.OAUTH_ISSUER, "jwks-uri", Type.STRING, "\"\"",
                    "Where the issuer publishes its signing keys (https). \"\" reads jwks_uri from"
                            + " issuer/.well-known/openid-configuration (OpenID Connect Discovery)."),
            key(Section.OAUTH_ISSUER, "audience", Type.STRING, null,
                    "A value the token's aud must contain: the resource indicator or client id this server is"
                            + " known by at the issuer."),
            key(Section.OAUTH_ISSUER, "account-claim", Type.STRING, "\"email\"",
                    "The claim naming the account: an address, or (with account-domain) a user name. The account"
                            + " must exist."),
            key(Section.OAUTH_ISSUER, "account-domain", Type.STRING, "\"\"",
                    "Appended as @domain to an account-claim value without an @, such as preferred_username."),
            key(Section.OAUTH_ISSUER, "required-scope", Type.STRING, "\"\"",
                    "A scope the token's scope claim must contain; \"\" for none."),
            key(Section.OAUTH_ISSUER, "untyped-jwt", Type.BOOLEAN, "false",
                    "Also accept tokens typed JWT or untyped, besides at+jwt (RFC 9068 §2.1), for issuers that"
                            + " issue access tokens as plain JWTs."),
            key(Section.OAUTH_ISSUER, "ca-file", Type.PATH, "\"\"",
                    "PEM certificates to trust for the issuer's HTTPS instead of the system's; \"\" for the system's."),
            new Key(Section.OAUTH_ISSUER, "min-refresh", Type.DURATION, List.of(), 1000, 3_600_000, "\"30s\"",
                    "How often the issuer's keys may be fetched: a token signed with a key id not yet known (after"
                            + " a key rotation) fetches them again, at most twice in this time."));

    private ConfigKeys() {}

    /** Every key, in documentation order. */
    public static List<Key> all() {
        return KEYS;
    }

    /** The keys of one table, in documentation order. */
    public static List<Key> of(Section section) {
        return KEYS.stream().filter(k -> k.section() == section).toList();
    }

    /** The key {@code name} of {@code section}, if there is one. */
    public static Optional<Key> find(Section section, String name) {
        return KEYS.stream().filter(k -> k.section() == section && k.name().equals(name)).findFirst();
    }

    /** How an enum constant is written in the file: lower case, hyphens for underscores. */
    public static String choiceName(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static String formatDuration(long millis) {
        if (millis % 3_600_000 == 0 && millis > 0) {
            return millis / 3_600_000 + "h";
        } else if (millis % 60_000 == 0 && millis > 0) {
            return millis / 60_000 + "m";
        } else if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }

    /** A size as the file writes it: the largest unit that divides it ({@code "100MB"}). */
    static String formatSize(long bytes) {
        String[] units = {"GB", "MB", "KB"};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << (10 * (units.length - i));
            if (bytes % unit == 0) {
                return bytes / unit + units[i];
            }
        }
        throw new IllegalArgumentException("sizes are whole kilobytes: " + bytes);
    }

    private static Key timeout(String name, Duration defaultValue, String description) {
        return interval(name, defaultValue, Outbound.MAX_TIMEOUT, description);
    }

    private static Key interval(String name, Duration defaultValue, Duration max, String description) {
        return new Key(Section.OUTBOUND, name, Type.DURATION, List.of(), 1000, max.toMillis(),
                "\"" + (defaultValue.toHours() % 24 == 0 && defaultValue.toDays() > 1 ? defaultValue.toDays() + "d"
                        : formatDuration(defaultValue.toMillis())) + "\"", description);
    }

    private static Key key(Section section, String name, Type type, String defaultValue, String description) {
        return new Key(section, name, type, List.of(), 0, 0, defaultValue, description);
    }

    private static <E extends Enum<E>> Key choice(Section section, String name, Class<E> values, E defaultValue,
                                                  String description) {
        return choice(section, name, Arrays.asList(values.getEnumConstants()), defaultValue, description);
    }

    /** A choice of some of an enum's constants: the others are not accepted in this key. */
    private static <E extends Enum<E>> Key choice(Section section, String name, List<E> values, E defaultValue,
                                                  String description) {
        List<String> choices = values.stream().map(ConfigKeys::choiceName).toList();
        return new Key(section, name, Type.CHOICE, choices, 0, 0,
                defaultValue == null ? null : "\"" + choiceName(defaultValue) + "\"", description);
    }

    /**
     * The reference documentation, {@code docs/configuration.md}: the file format, how paths and
     * errors work, and a table of every key.
     */
    public static String markdown() {
        List<String> out = new ArrayList<>();
        out.add("# Configuration reference");
        out.add("");
        out.add("<!-- Generated from ConfigKeys.java by ConfigDocsTest; edit the descriptions there, then run");
        out.add("     ./mvnw -pl castellan-server -am verify -Dtest=ConfigDocsTest -Dcastellan.regenerateDocs=true"
                + " -Dsurefire.failIfNoSpecifiedTests=false -->");
        out.add("");
        out.add("Castellan reads one file, `castellan.toml`, at start. An unknown key, a value of the wrong type"
                + " or out of range, or a missing file is an error naming the file, the line and the key, and the"
                + " server does not start:");
        out.add("");
        out.add("```");
        out.add("castellan.toml:14: listener[2].port: expected an integer from 0 to 65535, got \"abc\"");
        out.add("castellan.toml:3: server.hostnme: unknown key (known keys in [server]: hostname, data-dir, ...)");
        out.add("```");
        out.add("");
        out.add("Entries of `[[listener]]` and `[[rule]]` are numbered from 1 in file order: `listener[2]` is the"
                + " second `[[listener]]`. `castellan quickstart` writes a complete file with every key explained.");
        out.add("");
        out.add("## Format");
        out.add("");
        out.add("A strict subset of [TOML](https://toml.io), so that the file means one thing only:");
        out.add("");
        out.add("- `# comments`, to the end of the line.");
        out.add("- Tables `[server]`, `[store]`, `[tls]`, `[auth]`, `[log]`, `[smtp]`, `[dns]`, `[mail-auth]`, `[kerberos]`,"
                + " `[outbound]`, each at most once, and arrays of tables `[[outbound.route]]`, `[[outbound.tls-policy]]`,"
                + " `[[listener]]`, `[[rule]]`"
                + " and `[[oauth-issuer]]`, once per entry. Keys before the first table are errors.");
        out.add("- `key = value`, one per line, with bare kebab-case keys (`data-dir`). Dotted and quoted keys are"
                + " not supported.");
        out.add("- Values: basic strings in double quotes with the escapes `\\\"` `\\\\` `\\n` `\\t` `\\uXXXX`;"
                + " integers (`600000`, `600_000`); `true` and `false`; arrays of strings on one line"
                + " (`[\"a\", \"b\"]`, a trailing comma is allowed).");
        out.add("- Durations are strings: a whole number followed by `ms`, `s`, `m`, `h` or `d` (`\"250ms\"`, `\"30s\"`,"
                + " `\"5m\"`, `\"1h\"`, `\"5d\"`).");
        out.add("- Sizes are strings: a whole number followed by `KB`, `MB` or `GB`, powers of 1024 (`\"512KB\"`,"
                + " `\"100MB\"`).");
        out.add("- Not supported, and reported with the line: literal strings `'...'`, multi-line strings, inline"
                + " tables, floats, dates and times, hexadecimal, octal and binary integers.");
        out.add("");
        out.add("Relative paths: `server.data-dir` is relative to the directory of the configuration file; every"
                + " other path is relative to `data-dir`.");
        for (Section section : Section.values()) {
            out.add("");
            out.add("## `" + section.header() + "`");
            out.add("");
            out.add(section.description());
            out.add("");
            out.add("| Key | Type | Default | Description |");
            out.add("|---|---|---|---|");
            for (Key key : of(section)) {
                out.add("| `" + key.name() + "` | " + typeText(key) + " | "
                        + (key.required() ? "required" : "`" + key.defaultValue() + "`") + " | "
                        + key.description().replace("|", "\\|") + " |");
            }
        }
        return String.join("\n", out) + "\n";
    }

    private static String typeText(Key key) {
        return switch (key.type()) {
            case CHOICE -> String.join(" \\| ", key.choices().stream().map(c -> "`\"" + c + "\"`").toList());
            case INTEGER -> "integer, " + key.min() + " to " + key.max();
            case DURATION -> "duration, " + formatDuration(key.min()) + " to " + formatDuration(key.max());
            case SIZE -> "size, " + formatSize(key.min()) + " to " + formatSize(key.max());
            default -> key.type().label();
        };
    }
}
