package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLSocket;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.security.tls.TlsPolicy.Preset;
import org.castellan.security.tls.TlsPolicy.Provider;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key log that yields the tls-exporter binding is no path to disk: a JVM started with
 * {@code SSLKEYLOGFILE} set (the variable through which OpenSSL 3.5 builds, NSS and curl write
 * every TLS secret to a file) makes BoringSSL TLS 1.3 handshakes that do derive the binding, and
 * no file appears, nor does any secret reach its output.
 */
class KeyLogFileTest {

    @TempDir Path dir;

    @Test
    void sslKeyLogFileIsNotHonoured() throws Exception {
        Path keyLog = dir.resolve("keys.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Probe.class.getName(), dir.resolve("pki").toString()).redirectErrorStream(true);
        builder.environment().put("SSLKEYLOGFILE", keyLog.toString());
        Process probe = builder.start();
        String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(probe.exitValue()).as(output).isZero();
        assertThat(output).as("the probe's handshakes derived the binding").contains("bound 3 of 3");
        assertThat(keyLog).doesNotExist();
        try (Stream<Path> files = Files.walk(dir)) {
            // Only the test CA's files, and no key-log line in any of them.
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertThat(file).startsWith(dir.resolve("pki"));
                assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)).doesNotContain("_SECRET");
            }
        }
        assertThat(output).doesNotContain("SECRET", "CLIENT_RANDOM");
    }

    /** Run in the child JVM: three TLS 1.3 handshakes against a BoringSSL policy, each checked. */
    public static final class Probe {
        public static void main(String[] args) throws Throwable {
            TestPki pki = TestPki.create(Files.createDirectories(Path.of(args[0])));
            TlsPolicy policy = TlsPolicy.builder(Preset.MODERN, pki.server().chainFile(), pki.server().keyFile())
                    .provider(Provider.BORINGSSL).build();
            int bound = 0;
            try (TlsTestServer server = TlsTestServer.reportingExporter(policy, ClientCertMode.NONE)) {
                for (int i = 0; i < 3; i++) {
                    try (SSLSocket socket = (SSLSocket) pki.clientContext().getSocketFactory()
                            .createSocket("127.0.0.1", server.port())) {
                        socket.startHandshake();
                        String line = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                                StandardCharsets.US_ASCII)).readLine();
                        byte[] exported = (byte[]) MethodHandles.publicLookup().findVirtual(ExtendedSSLSession.class,
                                "exportKeyingMaterialData", MethodType.methodType(byte[].class, String.class, byte[].class,
                                        int.class)).invoke(socket.getSession(), "EXPORTER-Channel-Binding", new byte[0], 32);
                        if (line.endsWith(" exporter=" + HexFormat.of().formatHex(exported))) bound++;
                    }
                }
            }
            System.out.println("bound " + bound + " of 3");
            System.exit(bound == 3 ? 0 : 1);
        }
    }

}
