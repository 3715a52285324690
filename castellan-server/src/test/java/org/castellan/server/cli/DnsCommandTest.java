package org.castellan.server.cli;

import org.castellan.server.testing.TxtZone;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.security.mailauth.DkimResult;
import org.castellan.security.mailauth.DkimVerifier;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.server.dkim.DkimKeys;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan dns}: each zone-file line parsed and checked against what it describes: the
 * DKIM keys (the public half worked out by openssl from the stored private key, and a message
 * signed with the keys verifying against the printed records), the certificate's TLSA hash (by
 * openssl) and the listeners' ports.
 */
class DnsCommandTest {

    static final String HOST = "mail.example.org";
    /** owner class type rdata, as the command prints every record. */
    static final Pattern RECORD = Pattern.compile("^(\\S+)\\. IN (MX|TXT|SRV|TLSA) (.+)$");
    static final Pattern STRING = Pattern.compile("\"([^\"]*)\"");

    @TempDir Path tmp;
    Path data;

    record Rr(String owner, String type, String data) {
        /** The TXT record's strings joined, as DKIM verifiers join them (RFC 6376 §3.6.2.2). */
        String text() {
            StringBuilder joined = new StringBuilder();
            Matcher m = STRING.matcher(data);
            while (m.find()) {
                assertThat(m.group(1).length()).isLessThanOrEqualTo(255);
                joined.append(m.group(1));
            }
            return joined.toString();
        }
    }

    @BeforeEach
    void init() {
        data = tmp.resolve("data");
        Cli.Run r = Cli.raw(null, "init", "--data", data.toString(), "--hostname", HOST, "--port-base", "3000");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Cli.raw(null, "domain", "add", "example.org", "--data", data.toString()).code()).isZero();
        assertThat(Cli.raw(null, "dkim", "keygen", "--domain", "example.org", "--data", data.toString()).code()).isZero();
    }

    @Test
    void printsEveryRecordAndEachMatchesWhatItDescribes() throws Exception {
        Cli.Run r = Cli.raw(null, "dns", "--domain", "example.org", "--data", data.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<Rr> records = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (line.isEmpty() || line.startsWith(";")) continue;
            Matcher m = RECORD.matcher(line);
            assertThat(m.matches()).as("a zone-file line: " + line).isTrue();
            records.add(new Rr(m.group(1), m.group(2), m.group(3)));
        }
        assertThat(one(records, "example.org", "MX").data()).isEqualTo("10 " + HOST + ".");
        assertThat(one(records, "example.org", "TXT").text()).isEqualTo("v=spf1 mx -all");
        assertThat(one(records, "_dmarc.example.org", "TXT").text())
                .isEqualTo("v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.org");
        assertThat(one(records, "_mta-sts.example.org", "TXT").text()).matches("v=STSv1; id=[A-Za-z0-9]{1,32}");
        assertThat(r.out()).contains("https://mta-sts.example.org/.well-known/mta-sts.txt")
                .contains(";   version: STSv1\n;   mode: testing\n;   mx: " + HOST + "\n;   max_age: 604800\n");
        assertThat(one(records, "_smtp._tls.example.org", "TXT").text()).startsWith("v=TLSRPTv1; rua=mailto:");

        CastellanConfig config = CastellanConfig.load(data.resolve("castellan.toml"));
        Map<String, String> srv = Map.of("_submission", port(config, Protocol.SUBMISSION, TlsMode.STARTTLS),
                "_submissions", port(config, Protocol.SUBMISSION, TlsMode.IMPLICIT),
                "_imap", port(config, Protocol.IMAP, TlsMode.STARTTLS), "_imaps", port(config, Protocol.IMAP, TlsMode.IMPLICIT),
                "_pop3", port(config, Protocol.POP3, TlsMode.STARTTLS), "_pop3s", port(config, Protocol.POP3, TlsMode.IMPLICIT));
        srv.forEach((service, port) -> assertThat(one(records, service + "._tcp.example.org", "SRV").data())
                .as(service).isEqualTo("0 1 " + port + " " + HOST + "."));
        assertThat(srv.get("_submissions")).isEqualTo("3465");

        String tlsa = one(records, "_25._tcp." + HOST, "TLSA").data();
        String spkiHash = shell("openssl x509 -in '" + config.tls().certificate() + "' -pubkey -noout"
                + " | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r").split(" ")[0];
        assertThat(tlsa).isEqualTo("3 1 1 " + spkiHash);

        List<DkimKeys.Selector> selectors = new DkimKeys(data).list("example.org");
        assertThat(selectors).hasSize(2);
        Map<String, String> zone = new HashMap<>();
        for (DkimKeys.Selector s : selectors) {
            String record = one(records, s.dnsName(), "TXT").text();
            zone.put(s.dnsName(), record);
            Path key = data.resolve("dkim/example.org/" + s.selector() + ".key");
            byte[] spki = Base64.getDecoder().decode(shell("openssl pkey -in '" + key + "' -pubout -outform DER | base64 -w0"));
            // RSA publishes the SubjectPublicKeyInfo (RFC 6376 §3.6.1), Ed25519 the bare 32-octet key (RFC 8463 §4.2).
            byte[] expected = s.algorithm().keyType().equals("rsa") ? spki : Arrays.copyOfRange(spki, spki.length - 32, spki.length);
            assertThat(record).isEqualTo("v=DKIM1; k=" + s.algorithm().keyType() + "; p=" + Base64.getEncoder().encodeToString(expected));
        }

        byte[] message = "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] signature = new DkimKeys(data).signer("example.org").orElseThrow().sign(message, Instant.now());
        byte[] signed = new byte[signature.length + message.length];
        System.arraycopy(signature, 0, signed, 0, signature.length);
        System.arraycopy(message, 0, signed, signature.length, message.length);
        assertThat(new DkimVerifier(TxtZone.of(zone.entrySet().stream().collect(java.util.stream.Collectors.toMap(e -> e.getKey().toLowerCase(java.util.Locale.ROOT), e -> List.of(e.getValue()))))).verify(signed)).extracting(DkimResult::status)
                .containsExactly(DkimResult.Status.PASS, DkimResult.Status.PASS);
    }

    @Test
    void aServiceWithoutAListenerIsMarkedUnavailableAndABadDomainRefused() throws Exception {
        Path config = data.resolve("castellan.toml");
        String text = java.nio.file.Files.readString(config);
        java.nio.file.Files.writeString(config, text.replace("port = 3110", "port = 0"));
        Cli.Run r = Cli.raw(null, "dns", "--domain", "example.org", "--data", data.toString());
        assertThat(r.out()).contains("_pop3._tcp.example.org. IN SRV 0 0 0 .");
        assertThat(Cli.raw(null, "dns", "--domain", "not a domain", "--data", data.toString()).code()).isEqualTo(Main.BAD_INPUT);
    }

    private static Rr one(List<Rr> records, String owner, String type) {
        List<Rr> found = records.stream().filter(rr -> rr.owner().equals(owner) && rr.type().equals(type)).toList();
        assertThat(found).as(owner + " " + type).hasSize(1);
        return found.get(0);
    }

    private static String port(CastellanConfig config, Protocol protocol, TlsMode tls) {
        return config.listeners().stream().filter(l -> l.protocol() == protocol && l.tls() == tls).map(Listener::port)
                .findFirst().orElseThrow().toString();
    }

    private static String shell(String command) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "set -o pipefail; " + command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

}
