package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.castellan.security.mailauth.DkimVerifierTest.bytes;
import static org.castellan.security.mailauth.DkimVerifierTest.concat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.castellan.security.mailauth.DkimResult.Status;
import org.castellan.security.mailauth.DkimTestKeys.Zone;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Castellan's DKIM against an independent implementation, Debian's python3-dkim (dkimpy): what
 * Castellan signs verifies there, what dkimpy signs verifies here, RSA and Ed25519, and a
 * tampered message fails in both. The key records reach dkimpy through its dnsfunc argument.
 */
class DkimPythonInteropTest {

    /** Debian's interpreter: python3-dkim installs into its dist-packages, which another python3 on the PATH may not see. */
    static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    /** A run that has not finished in this time is hung, not slow. */
    static final long LIMIT_SECONDS = 120;

    static final String SCRIPT = """
            import json, sys
            try:
                import dkim
            except ImportError:
                sys.exit("python3-dkim is not installed (apt-get install python3-dkim; ./test does this)")
            mode = sys.argv[1]
            message = open(sys.argv[2], 'rb').read()
            if mode == 'verify':
                zone = json.load(open(sys.argv[3]))
                def dnsfunc(name, timeout=5):
                    name = name.decode() if isinstance(name, bytes) else name
                    return zone.get(name.rstrip('.'), '').encode()
                d = dkim.DKIM(message)
                count = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
                def verify(i):
                    try:
                        return 'pass' if d.verify(idx=i, dnsfunc=dnsfunc) else 'fail'
                    except dkim.ValidationError:  # dkimpy raises for some failures (a body hash mismatch)
                        return 'fail'
                print(' '.join(verify(i) for i in range(count)))
            else:
                algorithm, key_file, selector, domain, canonicalization, length = sys.argv[3:9]
                c = canonicalization.encode().split(b'/')
                sys.stdout.buffer.write(dkim.sign(message, selector.encode(), domain.encode(), open(key_file, 'rb').read(),
                        canonicalize=(c[0], c[1]), signature_algorithm=algorithm.encode(), length=(length == 'l')))
            """;

    static final String MESSAGE = "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n"
            + "Subject: the plan\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\nMessage-ID: <plan-1@example.org>\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Hello Bob,\r\n\r\n  the plan  stands.\t\r\n\r\nAlice\r\n\r\n";

    @TempDir Path tmp;
    KeyPair rsa;
    KeyPair ed;
    Zone zone;

    @BeforeEach
    void keys() throws Exception {
        rsa = DkimTestKeys.rsa2048();
        ed = DkimTestKeys.ed25519();
        zone = new Zone().with("c202612._domainkey.example.org", DkimKeyRecord.format(rsa.getPublic()))
                .with("c202612e._domainkey.example.org", DkimKeyRecord.format(ed.getPublic()));
    }

    @Test
    void whatCastellanSignsWithRsaAndEd25519VerifiesInDkimpy() throws Exception {
        byte[] fields = new DkimSigner(List.of(new DkimSigner.Key("example.org", "c202612", rsa.getPrivate()),
                new DkimSigner.Key("example.org", "c202612e", ed.getPrivate()))).sign(bytes(MESSAGE), Instant.now());
        assertThat(pythonVerify(concat(fields, bytes(MESSAGE)))).isEqualTo("pass pass");
        assertThat(pythonVerify(concat(fields, bytes(MESSAGE.replace("stands", "changed"))))).isEqualTo("fail fail");
        assertThat(pythonVerify(concat(fields, bytes(MESSAGE.replace("the plan\r\n", "another plan\r\n"))))).isEqualTo("fail fail");
    }

    @Test
    void whatDkimpySignsVerifiesInCastellan() throws Exception {
        for (String c : List.of("relaxed/relaxed", "simple/simple", "relaxed/simple")) {
            byte[] signed = concat(concat(pythonSign("rsa-sha256", "c202612", c, false), pythonSign("ed25519-sha256", "c202612e", c, false)),
                    bytes(MESSAGE));
            List<DkimResult> results = new DkimVerifier(zone).verify(signed);
            assertThat(results).as(c).extracting(DkimResult::status).containsExactly(Status.PASS, Status.PASS);
            assertThat(results).extracting(DkimResult::algorithm).extracting(a -> a.orElseThrow())
                    .containsExactly(DkimAlgorithm.RSA_SHA256, DkimAlgorithm.ED25519_SHA256);
            String text = new String(signed, StandardCharsets.ISO_8859_1);
            assertThat(new DkimVerifier(zone).verify(bytes(text.replace("stands", "changed")))).as(c)
                    .extracting(DkimResult::reason).containsOnly("body hash did not verify");
            assertThat(new DkimVerifier(zone).verify(bytes(text.replace("Subject: the plan", "Subject: a plan")))).as(c)
                    .extracting(DkimResult::status).containsOnly(Status.FAIL);
        }
    }

    @Test
    void aBodyLengthCountIsHonouredAndWhatFollowsItReported() throws Exception {
        byte[] signed = concat(pythonSign("ed25519-sha256", "c202612e", "relaxed/relaxed", true), bytes(MESSAGE));
        String appended = "P.S. click here\r\n";
        DkimResult result = new DkimVerifier(zone).verify(concat(signed, bytes(appended))).get(0);
        assertThat(result.status()).isEqualTo(Status.PASS);
        assertThat(result.bodyLength()).isPresent();
        // The empty line before the P.S. was a trailing one, outside the canonical body, when signed.
        assertThat(result.unsignedBodyOctets()).isEqualTo("\r\n".length() + appended.length());
        assertThat(new DkimVerifier(zone).verify(signed).get(0).unsignedBodyOctets()).isZero();
    }

    private byte[] pythonSign(String algorithm, String selector, String canonicalization, boolean length) throws Exception {
        Path key = tmp.resolve(selector + ".key");
        if (algorithm.startsWith("rsa")) {
            Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(rsa.getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n");
        } else { // dkimpy takes the 32-octet Ed25519 seed in base64 (RFC 8463 §4.1), the end of the PKCS#8 form
            byte[] pkcs8 = ed.getPrivate().getEncoded();
            Files.writeString(key, Base64.getEncoder().encodeToString(Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length)));
        }
        Path message = tmp.resolve("message.eml");
        Files.write(message, bytes(MESSAGE));
        return run(List.of("sign", message.toString(), algorithm, key.toString(), selector, "example.org", canonicalization,
                length ? "l" : "-"));
    }

    private String pythonVerify(byte[] signed) throws Exception {
        Path message = tmp.resolve("signed.eml");
        Files.write(message, signed);
        Path zoneFile = tmp.resolve("zone.json");
        Files.writeString(zoneFile, zone.txt.entrySet().stream()
                .map(e -> json(e.getKey()) + ": " + json(((DnsLookup.Found<String>) e.getValue()).values().get(0)))
                .collect(Collectors.joining(", ", "{", "}")));
        return new String(run(List.of("verify", message.toString(), zoneFile.toString())), StandardCharsets.UTF_8).strip();
    }

    private static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private byte[] run(List<String> arguments) throws IOException, InterruptedException {
        Path script = tmp.resolve("dkim_interop.py");
        Files.writeString(script, SCRIPT);
        List<String> command = new ArrayList<>(List.of(PYTHON, script.toString()));
        command.addAll(arguments);
        Path out = tmp.resolve("python.out");
        Path err = tmp.resolve("python.err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("python3 did not finish in " + LIMIT_SECONDS + " s: " + Files.readString(err));
        }
        assertThat(p.exitValue()).as("%s exited with %d: %s", command, p.exitValue(), Files.readString(err)).isZero();
        return Files.readAllBytes(out);
    }
}
