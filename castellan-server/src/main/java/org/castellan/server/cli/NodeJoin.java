package org.castellan.server.cli;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code castellan node join}, run on a new node: makes the node's key, and fetches its certificate
 * from the node CA over EST (RFC 7030) with the join token {@code castellan node add} printed
 * (docs/roles.md §4), so the key never leaves the node.
 *
 * <p>SECURITY: the first contact is not trust on first use. The CA certificates are fetched over
 * a provisional TLS connection (RFC 7030 §4.1.1) and kept only if the root among them has the
 * SHA-256 fingerprint the operator carried from {@code node add}; the token then goes only over a
 * connection verified against that root, with the host name checked. The key is written 0600 in
 * a 0700 directory, the certificate only if it names this node and certifies this key.
 *
 * <p>Failure: a refusal is printed as the server said it (a used, expired or foreign token, a
 * name the token does not grant), with exit status 1; nothing is written.
 */
@Command(name = "join", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"On a new node: make its key and fetch its certificate over EST with the join token of",
                "'castellan node add', trusting the server only if its root has the given fingerprint."})
final class NodeJoin implements Callable<Integer> {

    /** How long one EST exchange may take: a CA signing one certificate answers in milliseconds. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    @Parameters(index = "0", paramLabel = "URL", description = "The CA server's HTTPS listener, https://HOST:PORT.")
    URI url;
    @Parameters(index = "1", paramLabel = "TOKEN", description = {"The join token, as node add printed it; '-' reads it"
            + " from the first line of standard input, which other users of the machine cannot see as they can a command line."})
    String token;
    @Option(names = "--name", required = true, paramLabel = "NAME", description = "The node's name, as given to node add.")
    String name;
    @Option(names = "--role", required = true, paramLabel = "edge|mailbox", description = "The node's role, as given to node add.")
    String role;
    @Option(names = "--ca-fingerprint", required = true, paramLabel = "sha256:HEX",
            description = "The root's fingerprint, as node add printed it.")
    String fingerprint;
    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Where to write " + IssuedCertificate.KEY_FILE + " and " + IssuedCertificate.CHAIN_FILE
                    + " for the [node] table (created 0700).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!NodeIdentity.isValidName(name)) throw new Failures.BadInput("'" + name + "' is not a node name");
        if (token.equals("-")) {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null || line.isBlank()) throw new Failures.BadInput("no join token on standard input");
            token = line.strip();
        }
        NodeIdentity node = new NodeIdentity(NodeIdentity.Role.fromLabel(role)
                .orElseThrow(() -> new Failures.BadInput("--role is edge or mailbox, not " + role)), name);
        if (!"https".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
            throw new Failures.BadInput("the URL is https://HOST:PORT of the CA server's HTTPS listener, not " + url);
        }
        String pinned = fingerprint.toLowerCase(Locale.ROOT).replace(":", "").replaceFirst("^sha256", "");
        if (!pinned.matches("[0-9a-f]{64}")) {
            throw new Failures.BadInput("--ca-fingerprint is sha256: and 64 hex digits, as node add printed it");
        }

        // RFC 7030 §4.1.1: the CA certificates over a provisional connection, believed only if the root matches.
        List<X509Certificate> caCertificates = certificates(send(provisional(), HttpRequest.newBuilder(
                est("cacerts")).GET(), "cacerts"));
        X509Certificate root = caCertificates.stream().filter(c -> fingerprint(c).equals("sha256:" + pinned)).findFirst()
                .orElseThrow(() -> new Failures.BadInput("the CA certificates of " + url + " do not include a root with"
                        + " fingerprint sha256:" + pinned + "; is this the right server, and the fingerprint node add printed?"));
        X509Certificate nodeCa = caCertificates.stream().filter(c -> !c.equals(root)
                && c.getIssuerX500Principal().equals(root.getSubjectX500Principal())).findFirst()
                .orElseThrow(() -> new Failures.BadInput(url + " sent no node CA certificate issued by its root"));

        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = generator.generateKeyPair();
        byte[] request = Base64.getMimeEncoder().encode(csr(node, keys));
        String answer = send(verified(root), HttpRequest.newBuilder(est("simpleenroll"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/pkcs10")
                .header("Content-Transfer-Encoding", "base64")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request)), "simpleenroll");
        X509Certificate leaf = certificates(answer).get(0);
        if (!leaf.getPublicKey().equals(keys.getPublic())
                || !CertificateAuthority.nodeIdentity(leaf).equals(Optional.of(node))) {
            throw new Failures.BadInput("the certificate " + url + " sent is not for this node's key and name");
        }
        leaf.verify(nodeCa.getPublicKey());
        var files = new IssuedCertificate(CertificateKind.NODE, leaf, List.of(leaf, nodeCa), keys.getPrivate()).writeTo(out);
        System.out.println("joined as " + node.uri() + ": certificate " + leaf.getSerialNumber().toString(16) + ", valid until "
                + leaf.getNotAfter().toInstant());
        System.out.println("[node]\ncertificate = \"" + files.chain() + "\"\nkey = \"" + files.key() + "\"");
        return Main.OK;
    }

    /** The SHA-256 fingerprint of a certificate as node add prints it and join takes it. */
    static String fingerprint(X509Certificate certificate) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256 and encodes its certificates", e);
        }
    }

    private URI est(String operation) {
        return url.resolve("/.well-known/est/node/" + operation);
    }

    private String send(HttpClient client, HttpRequest.Builder request, String operation) throws Exception {
        HttpResponse<String> response;
        try (client) {
            response = client.send(request.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Failures.BadInput("cannot reach " + url + " (" + operation + "): " + e.getMessage());
        }
        if (response.statusCode() != 200) {
            throw new Failures.BadInput(url + " refused the join (" + operation + ", HTTP " + response.statusCode() + "): "
                    + response.body().strip());
        }
        return response.body();
    }

    /** A PKCS#10 request naming the node by its CN and its URI, signed with its new key. */
    private static byte[] csr(NodeIdentity node, KeyPair keys) throws Exception {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, node.uri())));
        return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + node.name()), keys.getPublic())
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())).getEncoded();
    }

    /** The certificates of a base64 certs-only answer (RFC 7030 §4.1.3, §4.2.3). */
    private static List<X509Certificate> certificates(String base64) throws Exception {
        CMSSignedData data = new CMSSignedData(Base64.getMimeDecoder().decode(base64.strip()));
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (var holder : data.getCertificates().getMatches(null)) out.add(converter.getCertificate(holder));
        if (out.isEmpty()) throw new Failures.BadInput("the server's answer holds no certificate");
        return out;
    }

    /** RFC 7030 §4.1.1: accepts any server, for the CA certificates only, which are then checked by fingerprint. */
    private static HttpClient provisional() throws Exception {
        // Extended, so that the JDK adds no host name check of its own: nothing here is believed yet.
        X509ExtendedTrustManager any = new X509ExtendedTrustManager() {
            @Override public void checkClientTrusted(X509Certificate[] chain, String authType) { }
            @Override public void checkServerTrusted(X509Certificate[] chain, String authType) { }
            @Override public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket s) { }
            @Override public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket s) { }
            @Override public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine e) { }
            @Override public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine e) { }
            @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {any}, null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(TIMEOUT).build();
    }

    /** Trusts {@code root} alone, host name checked. */
    private static HttpClient verified(X509Certificate root) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(root.getEncoded())));
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(TIMEOUT).build();
    }
}
