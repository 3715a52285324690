package org.castellan.bench.pki;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executors;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.OcspResponder;

/**
 * The child JVM of {@link OcspBench}: the built-in CA's {@link OcspResponder} in {@code args[0]}
 * behind the JDK's plain HTTP server (POST, RFC 6960 Appendix A.1), as a stand-in for the HTTPS
 * listener's route. Prints {@code READY <port>}, then serves until killed.
 */
public final class OcspServer {

    private OcspServer() {}

    public static void main(String[] args) throws Exception {
        OcspResponder responder = OcspResponder.open(CertificateAuthority.load(Path.of(args[0])), Clock.systemUTC());
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        http.createContext("/", exchange -> {
            try (exchange) {
                byte[] body = responder.respond(exchange.getRequestBody().readNBytes(OcspResponder.MAX_REQUEST_BYTES + 1));
                exchange.getResponseHeaders().add("Content-Type", OcspResponder.CONTENT_TYPE);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
        });
        http.setExecutor(Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors()));
        http.start();
        System.out.println("READY " + http.getAddress().getPort());
    }
}
