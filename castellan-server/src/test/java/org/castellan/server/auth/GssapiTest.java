package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.listener;
import static org.castellan.server.auth.AuthServer.loopback;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.security.auth.Subject;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.kerberos.KerberosTicket;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import org.castellan.security.auth.AuthContext;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.KerberosRealm;
import org.castellan.store.AuthAttempt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SASL GSSAPI (RFC 4752) against a real MIT Kerberos realm ({@link KerberosRealm}): tickets from
 * MIT's kinit used by curl (MIT's GSS-API library) on imaps, pop3s and smtps and by mbsync
 * (Cyrus SASL's GSSAPI plugin) on imaps, and the JDK's own
 * GSSAPI client driven token by token, which can also send what no honest client sends: garbage,
 * a ticket for another service, a replayed first token, an expired ticket.
 *
 * <p>The realm's users: alice@TEST.REALM maps to alice@example.org by the strip-realm rule,
 * brief@TEST.REALM (tickets of at most a few seconds) to bob@example.org by an explicit entry,
 * and carol@TEST.REALM to carol@example.org, which has no account. Failed attempts come from
 * their own loopback networks, so that the limiter's delays of one test never reach another.
 *
 * <p>Runs in its own JVM (tag {@code kerberos}): the server's acceptor and the Java client read
 * the realm's krb5.conf through {@code java.security.krb5.conf}, which a JVM reads only once.
 */
@Tag("kerberos")
class GssapiTest {

    private static final String REALM = KerberosRealm.REALM;
    private static final String ALICE_PRINCIPAL = "alice@" + REALM;
    private static final String ALICE_PASSWORD = "alice-kerberos-password-1";
    private static final String CAROL_PRINCIPAL = "carol@" + REALM;
    private static final String BRIEF_PRINCIPAL = "brief@" + REALM;
    /** MIT's kadmin takes lifetimes in getdate form. */
    private static final String BRIEF_LIFE = "\"4 seconds\"";

    @TempDir static Path dir;
    static KerberosRealm realm;
    static AuthServer auth;

    @BeforeAll
    static void start() {
        realm = KerberosRealm.create(dir.resolve("realm"));
        System.setProperty("java.security.krb5.conf", realm.krb5Conf().toString());
        realm.addUser(ALICE_PRINCIPAL, ALICE_PASSWORD);
        realm.addUser(CAROL_PRINCIPAL, ALICE_PASSWORD);
        realm.addUser(BRIEF_PRINCIPAL, ALICE_PASSWORD, "-maxlife " + BRIEF_LIFE);
        for (String service : List.of("imap", "pop", "smtp")) realm.addService(service + "/localhost@" + REALM);
        auth = AuthServer.start(dir.resolve("server"), String.join("\n", "",
                        "[kerberos]",
                        "keytab = \"" + realm.keytab() + "\"",
                        "realm = \"" + REALM + "\"",
                        "realm-domain = \"example.org\"",
                        "principals = [\"" + BRIEF_PRINCIPAL + "=" + BOB + "\"]", ""),
                listener("imaps", "imap", "implicit"),
                listener("pop3s", "pop3", "implicit"),
                listener("smtps", "submission", "implicit"),
                listener("imap-plain", "imap", "none"),
                listener("imap-two", "imap", "implicit", "client-cert = \"request\"",
                        "require-certificate-for-password = \"same-account\""));
    }

    @AfterAll
    static void stop() {
        if (auth != null) auth.close();
        if (realm != null) realm.close();
    }

    // --- curl with MIT's kinit -------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"imaps", "pop3s", "smtps"})
    void curlLogsInWithAKinitTicketAsTheMappedAccount(String listener) throws Exception {
        Path ccache = dir.resolve("alice-" + listener + ".ccache");
        realm.kinit(ALICE_PRINCIPAL, ALICE_PASSWORD, ccache);
        var r = curl(listener, ccache);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).containsPattern(switch (listener) {
            case "imaps" -> "< A\\d+ OK .*Logged in";
            case "pop3s" -> "< \\+OK.*\\R(.*\\R)*> (LIST|STAT|QUIT)";
            default -> "< 235 ";
        });
        awaitAttempt(a -> a.mechanism().equals("GSSAPI") && a.account().equals(ALICE) && a.result().equals("OK")
                && a.listener().equals(listener), "an OK GSSAPI row for " + ALICE + " on " + listener);
    }

    @Test
    void mbsyncLogsInThroughCyrusSaslsGssapiPlugin() throws Exception {
        ExternalClient.require("mbsync", "isync");
        requireCyrusGssapiPlugin();
        Path ccache = dir.resolve("alice-mbsync.ccache");
        realm.kinit(ALICE_PRINCIPAL, ALICE_PASSWORD, ccache);
        var r = ExternalClient.run(List.of("mbsync", "-c", mbsyncrc("alice", ALICE).toString(), "-l", "inbox"),
                realm.env(ccache));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("INBOX");
        awaitAttempt(a -> a.mechanism().equals("GSSAPI") && a.account().equals(ALICE) && a.result().equals("OK")
                && a.protocol().equals("imap"), "mbsync's GSSAPI login");
        // RFC 4422 §3.4.1: alice's ticket cannot ask to act as bob, as there is no proxy authorization.
        var proxy = ExternalClient.run(List.of("mbsync", "-c", mbsyncrc("bob", BOB).toString(), "-l", "inbox"),
                realm.env(ccache));
        assertThat(proxy.exitCode()).as(proxy.output()).isNotZero();
        awaitAttempt(a -> a.mechanism().equals("GSSAPI") && a.reason().orElse("").equals("authzid-differs"),
                "alice's ticket refused as bob");
    }

    private static Path mbsyncrc(String name, String user) throws IOException {
        Path home = Files.createDirectories(dir.resolve("mbsync-" + name));
        Files.createDirectories(home.resolve("mail"));
        Path rc = home.resolve("mbsyncrc");
        Files.writeString(rc, String.join("\n",
                "IMAPAccount castellan",
                "Host localhost",
                "Port " + auth.address("imaps").getPort(),
                // Cyrus sends the user as GSSAPI's authorization identity: the account, which the ticket maps to.
                "User " + user,
                "SSLType IMAPS",
                "CertificateFile " + auth.pki().trustFile(),
                "AuthMechs GSSAPI",
                "",
                "IMAPStore remote",
                "Account castellan",
                "",
                "MaildirStore local",
                "Path " + home.resolve("mail") + "/",
                "Inbox " + home.resolve("mail/INBOX"),
                "",
                "Channel inbox",
                "Far :remote:",
                "Near :local:",
                "Patterns INBOX",
                "Create Near",
                ""));
        return rc;
    }

    // --- the JDK's client ------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Proto.class)
    void aJavaClientLogsInAsTheMappedAccountOnEveryProtocol(Proto proto) throws Exception {
        Subject alice = login(ALICE_PRINCIPAL);
        try (MailClient c = connect(proto, loopback("127.0.0.1"))) {
            var reply = exchange(c, proto, alice, client(alice, proto));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.OK);
        }
        Subject brief = login(BRIEF_PRINCIPAL);
        try (MailClient c = connect(proto, loopback("127.0.0.1"))) {
            var reply = exchange(c, proto, brief, client(brief, proto));
            assertThat(reply.outcome()).as("explicitly mapped to bob: " + reply.line()).isEqualTo(Outcome.OK);
        }
        awaitAttempt(a -> a.mechanism().equals("GSSAPI") && a.account().equals(BOB) && a.result().equals("OK"),
                "an OK GSSAPI row for " + BOB);
    }

    @Test
    void withoutAnInitialResponseTheServerAsksForTheTokenWithAnEmptyChallenge() throws Exception {
        Subject alice = login(ALICE_PRINCIPAL);
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.0.1"))) {
            var reply = exchange(c, Proto.POP3, alice, client(alice, Proto.IMAP));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.OK);
        }
    }

    @Test
    void garbageIsRefusedAndCountedByTheLimiter() throws Exception {
        InetAddress from = loopback("127.0.11.2");
        long before = auth.server().auth().stats().failures();
        for (Proto proto : Proto.values()) {
            try (MailClient c = connect(proto, from)) {
                var reply = c.authenticate("GSSAPI", null, challenge -> "not a kerberos token".getBytes(StandardCharsets.US_ASCII));
                assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
            }
        }
        assertThat(auth.server().auth().stats().failures() - before).isEqualTo(Proto.values().length);
        awaitAttempt(a -> a.mechanism().equals("GSSAPI") && a.remote().equals("127.0.11.2")
                && a.result().equals("INVALID_CREDENTIALS") && a.reason().orElse("").startsWith("token-rejected"),
                "a refused GSSAPI row from 127.0.11.2");
    }

    @Test
    void aTicketForAnotherServiceIsRefused() throws Exception {
        Subject alice = login(ALICE_PRINCIPAL);
        long before = auth.server().auth().stats().failures();
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.12.2"))) {
            SaslClient forPop = client(alice, Proto.POP3);
            var reply = c.authenticate("GSSAPI", first(alice, forPop), respond(alice, forPop));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
        }
        assertThat(auth.server().auth().stats().failures() - before).isEqualTo(1);
    }

    @Test
    void aReplayedFirstTokenIsRefused() throws Exception {
        Subject alice = login(ALICE_PRINCIPAL);
        SaslClient client = client(alice, Proto.IMAP);
        byte[] token = first(alice, client);
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.0.1"))) {
            assertThat(c.authenticate("GSSAPI", token, respond(alice, client)).outcome()).isEqualTo(Outcome.OK);
        }
        // RFC 4120 §3.2.3: an authenticator seen before is a replay (KRB_AP_ERR_REPEAT, 34).
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.13.2"))) {
            var reply = c.authenticate("GSSAPI", token);
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
        }
        awaitAttempt(a -> a.remote().equals("127.0.13.2") && a.reason().orElse("").contains("krb5-error=34"),
                "a replay refused from 127.0.13.2");
    }

    @Test
    void anExpiredTicketIsRefused() throws Exception {
        Subject brief = login(BRIEF_PRINCIPAL);
        SaslClient client = client(brief, Proto.IMAP);
        byte[] token = first(brief, client);
        Instant end = brief.getPrivateCredentials(KerberosTicket.class).stream()
                .filter(t -> t.getServer().getName().startsWith("imap/")).findFirst().orElseThrow().getEndTime().toInstant();
        // The realm allows 1 s of clock skew: past it, the ticket is expired for the server too.
        await().atMost(Duration.ofSeconds(30)).until(() -> Instant.now().isAfter(end.plusSeconds(2)));
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.14.2"))) {
            var reply = c.authenticate("GSSAPI", token, respond(brief, client));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
        }
        // The JDK checks the authenticator's time (KRB_AP_ERR_SKEW, 37) before the ticket's end
        // (KRB_AP_ERR_TKT_EXPIRED, 32): a token made while its ticket was valid is refused as stale.
        awaitAttempt(a -> a.remote().equals("127.0.14.2") && a.reason().orElse("").matches(".*krb5-error=(32|37)$"),
                "an expired ticket refused from 127.0.14.2");
    }

    @Test
    void aPrincipalWithoutAnAccountIsRefusedAndCounted() throws Exception {
        Subject carol = login(CAROL_PRINCIPAL);
        long before = auth.server().auth().stats().failures();
        try (MailClient c = connect(Proto.IMAP, loopback("127.0.15.2"))) {
            SaslClient client = client(carol, Proto.IMAP);
            var reply = c.authenticate("GSSAPI", first(carol, client), respond(carol, client));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.INVALID);
        }
        assertThat(auth.server().auth().stats().failures() - before).isEqualTo(1);
        awaitAttempt(a -> a.remote().equals("127.0.15.2") && a.reason().orElse("").equals("principal-names-no-account"),
                "carol refused");
    }

    @Test
    void withoutTlsGssapiIsNeitherOfferedNorAccepted() throws Exception {
        try (MailClient c = MailClient.plain(Proto.IMAP, auth.address("imap-plain"), loopback("127.0.16.2"))) {
            var reply = c.authenticate("GSSAPI", "x".getBytes(StandardCharsets.US_ASCII));
            assertThat(reply.outcome()).as(reply.line()).isEqualTo(Outcome.ENCRYPTION_REQUIRED);
        }
        assertThat(auth.server().auth().mechanisms(new AuthContext("imaps", "imap",
                loopback("127.0.0.1"), true, false, Optional.empty(), Optional.empty()))).contains("GSSAPI");
        assertThat(auth.server().auth().mechanisms(new AuthContext("imap-plain", "imap",
                loopback("127.0.0.1"), false, false, Optional.empty(), Optional.empty()))).doesNotContain("GSSAPI");
    }

    @Test
    void whereAListenerWantsTheAccountsCertificateWithEveryLoginGssapiDoesToo() throws Exception {
        Subject alice = login(ALICE_PRINCIPAL);
        var at = auth.address("imap-two");
        try (MailClient c = MailClient.implicit(Proto.IMAP, at, loopback("127.0.0.1"),
                auth.pki().clientContext(auth.pki().client()), false).oneShot()) {
            var reply = exchange(c, Proto.IMAP, alice, client(alice, Proto.IMAP));
            assertThat(reply.outcome()).as("alice's ticket with alice's certificate: " + reply.line()).isEqualTo(Outcome.OK);
        }
        try (MailClient c = MailClient.implicit(Proto.IMAP, at, loopback("127.0.17.2"),
                auth.pki().clientContext(), false).oneShot()) {
            var reply = exchange(c, Proto.IMAP, alice, client(alice, Proto.IMAP));
            assertThat(reply.outcome()).as("no certificate: " + reply.line()).isEqualTo(Outcome.UNAVAILABLE);
        }
        try (MailClient c = MailClient.implicit(Proto.IMAP, at, loopback("127.0.17.3"),
                auth.pki().clientContext(auth.unmapped()), false).oneShot()) {
            var reply = exchange(c, Proto.IMAP, alice, client(alice, Proto.IMAP));
            assertThat(reply.outcome()).as("a certificate of nobody: " + reply.line()).isEqualTo(Outcome.INVALID);
        }
        awaitAttempt(a -> a.remote().equals("127.0.17.3")
                && a.reason().orElse("").equals("certificate-names-another-account"), "the kiosk certificate refused");
    }

    // --- helpers ---------------------------------------------------------------------------------

    private static MailClient connect(Proto proto, InetAddress from) throws Exception {
        String listener = switch (proto) {
            case IMAP -> "imaps";
            case POP3 -> "pop3s";
            case SMTP -> "smtps";
        };
        return MailClient.implicit(proto, auth.address(listener), from, auth.pki().clientContext(), false).oneShot();
    }

    /**
     * One GSSAPI exchange with the JDK's client. RFC 5034 §4 limits POP3's AUTH line to 255
     * octets, which an AP-REQ exceeds, so there the token answers the server's empty challenge
     * (RFC 4752 §3.1) instead of riding on the command as an initial response.
     */
    private static MailClient.Reply exchange(MailClient c, Proto proto, Subject subject, SaslClient client)
            throws Exception {
        byte[] token = first(subject, client);
        UnaryOperator<byte[]> respond = respond(subject, client);
        if (proto != Proto.POP3) return c.authenticate("GSSAPI", token, respond);
        boolean[] sent = {false};
        return c.authenticate("GSSAPI", null, challenge -> {
            if (sent[0]) return respond.apply(challenge);
            assertThat(challenge).as("the server's first challenge").isEmpty();
            sent[0] = true;
            return token;
        });
    }

    /** A TGT for {@code principal} from the realm's KDC, by the JDK's Krb5LoginModule with the password (no JAAS file). */
    private static Subject login(String principal) throws Exception {
        Configuration krb5 = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry(
                        "com.sun.security.auth.module.Krb5LoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of("refreshKrb5Config", "true"))};
            }
        };
        LoginContext context = new LoginContext("gssapi-test", new Subject(), callbacks -> {
            for (var callback : callbacks) {
                if (callback instanceof NameCallback n) n.setName(principal);
                if (callback instanceof PasswordCallback p) p.setPassword(ALICE_PASSWORD.toCharArray());
            }
        }, krb5);
        context.login();
        return context.getSubject();
    }

    /** The JDK's GSSAPI client for {@code proto}'s service on localhost (RFC 4752 §3.1's host-based name). */
    private static SaslClient client(Subject subject, Proto proto) {
        String service = switch (proto) {
            case IMAP -> "imap";
            case POP3 -> "pop";
            case SMTP -> "smtp";
        };
        return as(subject, () -> Sasl.createSaslClient(new String[] {"GSSAPI"}, null, service, "localhost",
                Map.of(Sasl.QOP, "auth"), null));
    }

    /** The first token: the AP-REQ, for which the JDK gets a service ticket from the KDC. */
    private static byte[] first(Subject subject, SaslClient client) {
        return as(subject, () -> client.evaluateChallenge(new byte[0]));
    }

    private static UnaryOperator<byte[]> respond(Subject subject, SaslClient client) {
        return challenge -> as(subject, () -> client.evaluateChallenge(challenge));
    }

    private static <T> T as(Subject subject, java.util.concurrent.Callable<T> action) {
        try {
            return Subject.callAs(subject, action);
        } catch (CompletionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private static ExternalClient.Result curl(String listener, Path ccache) throws Exception {
        ExternalClient.require("curl", "curl");
        String scheme = listener.equals("smtps") ? "smtps" : listener;
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "-v", "--max-time", "60",
                "--cacert", auth.pki().trustFile().toString(),
                "--login-options", "AUTH=GSSAPI", "-u", ALICE_PRINCIPAL + ":",
                scheme + "://localhost:" + auth.address(listener).getPort() + "/"));
        if (listener.equals("smtps")) command.addAll(List.of("-X", "VRFY " + ALICE));
        return ExternalClient.run(command, realm.env(ccache));
    }

    /** Cyrus SASL loads its mechanisms from plugins: GSSAPI's is libgssapiv2 (Debian's libsasl2-modules-gssapi-mit). */
    private static void requireCyrusGssapiPlugin() throws IOException {
        try (Stream<Path> files = Files.find(Path.of("/usr/lib"), 3,
                (file, attributes) -> file.getFileName().toString().startsWith("libgssapiv2.so"))) {
            if (files.findAny().isEmpty()) {
                fail("Cyrus SASL's GSSAPI plugin is not installed; install the Debian package 'libsasl2-modules-gssapi-mit'"
                        + " (apt-get install libsasl2-modules-gssapi-mit; ./test does this)");
            }
        }
    }

    private static void awaitAttempt(java.util.function.Predicate<AuthAttempt> row, String what) {
        await(what).atMost(Duration.ofSeconds(30)).until(() ->
                auth.server().store().listAuthAttempts(Optional.empty(), 500).stream().anyMatch(row));
    }
}
