package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.testkit.MutableClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The responder against OpenSSL's OCSP client: requests written by {@code openssl ocsp -reqout},
 * responses checked by {@code openssl ocsp -respin} against the root, as a relying party would.
 */
class OcspResponderTest {

    private static final Duration YEAR = Duration.ofDays(365);

    @TempDir Path temp;
    private Path pki;
    private CertificateAuthority ca;
    private OcspResponder responder;
    private IssuedCertificate server;
    private Path serverCa;

    @BeforeEach
    void setUp() {
        pki = temp.resolve("pki");
        ca = CertificateAuthority.initialize(pki, "Example Org");
        responder = OcspResponder.open(ca, Clock.systemUTC());
        server = ca.issueServer(List.of("mail.example.org"), List.of(), YEAR);
        serverCa = ca.caCertificateFile(CertificateKind.SERVER);
    }

    @Test
    void answersGoodThenRevokedWithinOneSecondOfARevocationByAnotherProcess() throws Exception {
        String serial = hex(server.certificate());
        Path request = openssl("ocsp", "-issuer", serverCa, "-serial", serial, "-reqout", temp.resolve("req.der")).file();
        Path requestNoNonce = openssl("ocsp", "-issuer", serverCa, "-serial", serial, "-no_nonce",
                "-reqout", temp.resolve("req-no-nonce.der")).file();

        assertThat(check(request, serial)).contains("Response verify OK").contains(serial + ": good");
        assertThat(check(requestNoNonce, serial)).contains("Response verify OK").contains(serial + ": good");

        // Another instance over the same directory stands for `castellan cert revoke`.
        CertificateAuthority.load(pki).revoke(server.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);

        await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> assertThat(check(requestNoNonce, serial))
                .contains("Response verify OK").contains(serial + ": revoked").contains("Reason: keyCompromise"));
        assertThat(check(request, serial)).contains(serial + ": revoked").contains("Revocation Time:");
    }

    @Test
    void echoesTheNonceAndSignsWithADelegatedResponderCertificate() throws Exception {
        String serial = hex(server.certificate());
        Path request = openssl("ocsp", "-issuer", serverCa, "-serial", serial, "-reqout", temp.resolve("req.der")).file();
        Path response = write("resp.der", responder.respond(Files.readAllBytes(request)));

        // With -reqin, openssl compares the response's nonce with the request's.
        String text = openssl("ocsp", "-reqin", request, "-respin", response, "-issuer", serverCa,
                "-verify_other", serverCa, "-CAfile", ca.rootCertificateFile(), "-resp_text").out();
        assertThat(text).contains("Response verify OK").contains("OCSP Nonce").doesNotContain("WARNING: no nonce");

        X509Certificate signer = responder.signerCertificate(CertificateKind.SERVER);
        assertThat(signer.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.9"); // id-kp-OCSPSigning
        assertThat(signer.getExtensionValue(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck.getId())).isNotNull();
        assertThat(signer.getNotAfter().toInstant())
                .isBefore(signer.getNotBefore().toInstant().plus(OcspResponder.SIGNER_VALIDITY).plus(Duration.ofHours(2)));
        signer.verify(ca.caCertificate(CertificateKind.SERVER).getPublicKey());
        Path keyFile = pki.resolve("server-ca-ocsp.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
        assertThat(responder.signerCertificateFile(CertificateKind.SERVER)).exists();

        // A second responder over the same directory reuses the certificate instead of issuing another.
        OcspResponder again = OcspResponder.open(CertificateAuthority.load(pki), Clock.systemUTC());
        assertThat(again.signerCertificate(CertificateKind.SERVER)).isEqualTo(signer);
    }

    @Test
    void theGetFormAnswersLikeThePost() throws Exception {
        String serial = hex(server.certificate());
        Path request = openssl("ocsp", "-issuer", serverCa, "-serial", serial, "-no_nonce", "-reqout",
                temp.resolve("req.der")).file();
        // RFC 6960 Appendix A.1: the URL encoding of the base64 of the DER.
        String path = URLEncoder.encode(Base64.getEncoder().encodeToString(Files.readAllBytes(request)),
                StandardCharsets.US_ASCII);
        Path response = write("resp.der", responder.respondToGet(path));
        assertThat(verify(response, serial)).contains("Response verify OK").contains(serial + ": good");

        assertThat(status(responder.respondToGet("%zz"))).isEqualTo(1);
        assertThat(status(responder.respondToGet("not base64!"))).isEqualTo(1);
    }

    @Test
    void aSerialThisCaNeverIssuedIsUnknown() throws Exception {
        String made = "0x" + new BigInteger(128, new java.security.SecureRandom()).setBit(127).toString(16);
        Path request = openssl("ocsp", "-issuer", serverCa, "-serial", made, "-reqout", temp.resolve("req.der")).file();
        assertThat(check(request, made)).contains("Response verify OK").contains(made + ": unknown");

        // A device certificate's serial asked of the server CA is not the server CA's.
        IssuedCertificate device = ca.issueDevice("laptop", EmailAddress.of("alice@example.org"), YEAR);
        String deviceSerial = hex(device.certificate());
        Path asked = openssl("ocsp", "-issuer", serverCa, "-serial", deviceSerial, "-reqout", temp.resolve("dev.der")).file();
        assertThat(check(asked, deviceSerial)).contains(deviceSerial + ": unknown");
    }

    @Test
    void anotherCasIssuerIsUnauthorized() throws Exception {
        CertificateAuthority other = CertificateAuthority.initialize(temp.resolve("other"), "Example Org");
        IssuedCertificate foreign = other.issueServer(List.of("mail.example.org"), List.of(), YEAR);
        Path request = openssl("ocsp", "-issuer", other.caCertificateFile(CertificateKind.SERVER), "-serial",
                hex(foreign.certificate()), "-reqout", temp.resolve("req.der")).file();
        Path response = write("resp.der", responder.respond(Files.readAllBytes(request)));
        // RFC 6960 §2.3: unauthorized (6), unsigned.
        assertThat(run(false, "ocsp", "-respin", response, "-resp_text", "-noverify").out())
                .contains("Responder Error: unauthorized (6)");

        // The root is not a CA this responder answers for either.
        Path aboutIssuingCa = openssl("ocsp", "-issuer", ca.rootCertificateFile(), "-serial",
                hex(ca.caCertificate(CertificateKind.SERVER)), "-reqout", temp.resolve("root.der")).file();
        assertThat(status(responder.respond(Files.readAllBytes(aboutIssuingCa)))).isEqualTo(6);
    }

    @Test
    void garbageOversizedAndOverlongRequestsAreMalformed() throws Exception {
        // RFC 6960 §4.2.1: malformedRequest (1).
        assertThat(status(responder.respond("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)))).isEqualTo(1);
        assertThat(status(responder.respond(new byte[0]))).isEqualTo(1);
        assertThat(status(responder.respond(new byte[OcspResponder.MAX_REQUEST_BYTES + 1]))).isEqualTo(1);
        byte[] valid = Files.readAllBytes(openssl("ocsp", "-issuer", serverCa, "-serial", hex(server.certificate()),
                "-reqout", temp.resolve("req.der")).file);
        assertThat(status(responder.respond(Arrays.copyOf(valid, valid.length - 3)))).isEqualTo(1);

        List<Object> many = new ArrayList<>(List.of("ocsp", "-issuer", serverCa));
        for (int i = 0; i <= OcspResponder.MAX_CERTIFICATES; i++) many.addAll(List.of("-serial", String.valueOf(i + 1)));
        many.addAll(List.of("-reqout", temp.resolve("many.der")));
        Path tooMany = openssl(many.toArray()).file();
        assertThat(status(responder.respond(Files.readAllBytes(tooMany)))).isEqualTo(1);

        List<Object> most = new ArrayList<>(List.of("ocsp", "-issuer", serverCa));
        for (int i = 0; i < OcspResponder.MAX_CERTIFICATES; i++) most.addAll(List.of("-serial", String.valueOf(i + 1)));
        most.addAll(List.of("-reqout", temp.resolve("most.der")));
        assertThat(status(responder.respond(Files.readAllBytes(openssl(most.toArray()).file)))).isZero();
    }

    @Test
    void aNonceLongerThanRfc9654AllowsIsMalformedAndTheLongestAllowedIsEchoed() throws Exception {
        assertThat(status(responder.respond(requestWithNonce(OcspResponder.MAX_NONCE_BYTES + 1)))).isEqualTo(1);
        assertThat(status(responder.respond(requestWithNonce(0)))).isEqualTo(1);

        OCSPResp response = new OCSPResp(responder.respond(requestWithNonce(OcspResponder.MAX_NONCE_BYTES)));
        assertThat(response.getStatus()).isZero();
        Extension echoed = ((BasicOCSPResp) response.getResponseObject())
                .getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        assertThat(echoed.getExtnValue().getOctets())
                .isEqualTo(new DEROctetString(new byte[OcspResponder.MAX_NONCE_BYTES]).getEncoded());
    }

    /**
     * What an event loop may answer at once: only a response signed before, for an index not
     * changed since; everything that needs a signature or a new reading of the index is left to
     * {@link OcspResponder#respond}, whose answer then serves the next request.
     */
    @Test
    void withoutSigningAnswersOnlyWhatIsSignedAlreadyForAnUnchangedIndex() throws Exception {
        byte[] request = requestWithoutNonce();
        assertThat(responder.respondWithoutSigning(request)).as("never signed yet").isEmpty();
        byte[] signed = responder.respond(request);
        assertThat(responder.respondWithoutSigning(request)).hasValue(signed);

        // A nonce is echoed in a response signed for it alone (RFC 9654 §2.1).
        assertThat(responder.respondWithoutSigning(requestWithNonce(16))).isEmpty();
        // A request that cannot be read needs no signature: malformedRequest (RFC 6960 §2.3).
        assertThat(responder.respondWithoutSigning(new byte[] {0x30, 0x03, 0x02})
                .map(OcspResponderTest::statusOf)).hasValue(1);
        assertThat(responder.respondWithoutSigning(OcspResponder.getRequest("not base64!"))
                .map(OcspResponderTest::statusOf)).hasValue(1);

        // After a revocation by another process the index has changed: no answer from memory ...
        CertificateAuthority.load(pki).revoke(server.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);
        assertThat(responder.respondWithoutSigning(request)).isEmpty();
        // ... until the index is read again and the response signed anew, saying revoked.
        byte[] revoked = responder.respond(request);
        assertThat(responder.respondWithoutSigning(request)).hasValue(revoked);
        assertThat(((BasicOCSPResp) new OCSPResp(revoked).getResponseObject()).getResponses()[0].getCertStatus())
                .isInstanceOf(org.bouncycastle.cert.ocsp.RevokedStatus.class);
    }

    /**
     * Anyone who reaches the listener can make the responder sign: past its budget a nonce is
     * left out and the pre-signed answer given (RFC 9654 §2.1), what has none is tryLater (RFC
     * 6960 §2.3, 3), and a second later signing resumes. Staples are not counted.
     */
    @Test
    void signaturesForRequestsAreBoundedAndANonceIsThenLeftOut() throws Exception {
        MutableClock clock = new MutableClock(java.time.Instant.now());
        OcspResponder bounded = OcspResponder.open(ca, clock, 3);
        byte[] plain = requestWithoutNonce();
        OCSPResp first = new OCSPResp(bounded.respond(plain)); // signs: 2 left
        assertThat(first.getStatus()).isZero();
        assertThat(nonceOf(bounded.respond(requestWithNonce(16)))).isNotNull(); // 1 left
        assertThat(nonceOf(bounded.respond(requestWithNonce(16)))).isNotNull(); // 0 left

        byte[] over = bounded.respond(requestWithNonce(16));
        assertThat(statusOf(over)).isZero();
        assertThat(nonceOf(over)).as("the nonce is left out past the budget").isNull();
        assertThat(over).isEqualTo(first.getEncoded());

        IssuedCertificate other = ca.issueServer(List.of("other.example.org"), List.of(), YEAR);
        assertThat(statusOf(bounded.respond(requestFor(other.certificate()))))
                .as("nothing signed before for it: tryLater").isEqualTo(3);
        assertThat(bounded.staple(other.certificate())).as("a staple is not counted").isPresent();

        clock.advance(Duration.ofSeconds(1));
        assertThat(nonceOf(bounded.respond(requestWithNonce(16)))).isNotNull();
    }

    /** RFC 6960 Appendix A.1: the GET path is the URL-encoding of the request's base64, '+', '/' and '=' as %XX in either case. */
    @Test
    void theGetPathIsPercentDecodedBase64() {
        byte[] der = {(byte) 0xfb, (byte) 0xff, (byte) 0xbf, 0x01};
        String base64 = Base64.getEncoder().encodeToString(der);
        assertThat(base64).contains("+").contains("/").contains("=");
        String encoded = base64.replace("+", "%2B").replace("/", "%2f").replace("=", "%3D");
        assertThat(OcspResponder.getRequest("/" + encoded)).containsExactly(der);
        assertThat(OcspResponder.getRequest(encoded)).containsExactly(der);
        assertThat(OcspResponder.getRequest(base64)).containsExactly(der);
        assertThat(OcspResponder.getRequest(encoded.substring(0, encoded.length() - 1))).isNull();
        assertThat(OcspResponder.getRequest(encoded.substring(0, encoded.length() - 2))).isNull();
        assertThat(OcspResponder.getRequest(encoded.replace("%3D", "%zz"))).isNull();
    }

    private static Extension nonceOf(byte[] der) throws Exception {
        return ((BasicOCSPResp) new OCSPResp(der).getResponseObject()).getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
    }

    private byte[] requestFor(X509Certificate certificate) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(ca.caCertificate(CertificateKind.SERVER)), certificate.getSerialNumber());
        return new OCSPReqBuilder().addRequest(id).build().getEncoded();
    }

    private byte[] requestWithoutNonce() throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(ca.caCertificate(CertificateKind.SERVER)), server.certificate().getSerialNumber());
        return new OCSPReqBuilder().addRequest(id).build().getEncoded();
    }

    private static int statusOf(byte[] der) {
        try {
            return status(der);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private byte[] requestWithNonce(int length) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(ca.caCertificate(CertificateKind.SERVER)), server.certificate().getSerialNumber());
        return new OCSPReqBuilder().addRequest(id)
                .setRequestExtensions(new Extensions(new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false,
                        new DEROctetString(new byte[length]).getEncoded())))
                .build().getEncoded();
    }

    /** The responder's answer to {@code request}, verified and printed by openssl. */
    private String check(Path request, String serial) throws Exception {
        return verify(write("resp.der", responder.respond(Files.readAllBytes(request))), serial);
    }

    private String verify(Path response, String serial) throws Exception {
        // -no_nonce: openssl would compare the response with a nonce of its own making.
        return openssl("ocsp", "-respin", response, "-issuer", serverCa, "-verify_other", serverCa,
                "-CAfile", ca.rootCertificateFile(), "-serial", serial, "-no_nonce", "-resp_text").out();
    }

    private static int status(byte[] der) throws IOException {
        return new OCSPResp(der).getStatus();
    }

    private Path write(String name, byte[] content) throws IOException {
        return Files.write(temp.resolve(name), content);
    }

    private static String hex(X509Certificate certificate) {
        return "0x" + certificate.getSerialNumber().toString(16);
    }

    record Run(String out, Path file) {}

    /** Runs openssl; the last argument that is a path is the file it wrote, if any. */
    static Run openssl(Object... args) throws Exception {
        return run(true, args);
    }

    /** Runs openssl, requiring it to succeed if {@code success}: it exits 1 on an unsuccessful response. */
    static Run run(boolean success, Object... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        Path last = null;
        for (Object arg : args) {
            command.add(arg.toString());
            if (arg instanceof Path p) last = p;
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        if (success) assertThat(exit).as(String.join(" ", command) + "\n" + out).isZero();
        return new Run(out, last);
    }
}
