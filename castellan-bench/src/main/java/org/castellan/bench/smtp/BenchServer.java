package org.castellan.bench.smtp;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * Castellan in its own JVM for {@link SmtpSubmissionBench}, so that the server's CPU time can be
 * read apart from the load generator's. Prints {@code READY <port>}, then serves until killed.
 */
public final class BenchServer {

    private BenchServer() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Castellan server = Castellan.start(CastellanConfig.parse(Files.readString(file), file));
        System.out.println("READY " + server.addresses().get("submission").getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
