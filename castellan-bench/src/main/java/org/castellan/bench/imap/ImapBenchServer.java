package org.castellan.bench.imap;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * Castellan in its own JVM for the IMAP benchmarks, so that its CPU time and memory can be read
 * apart from the load generator's. Prints {@code READY <port>} (the {@code imaps} listener, 0 on
 * a node without one such as a mailbox node), followed by {@code name=port} for each other listener, then serves until killed.
 */
public final class ImapBenchServer {

    private ImapBenchServer() {}

    public static void main(String[] args) throws Exception {
        // Ends with the benchmark that started it, even one killed outright, which runs no
        // shutdown hook: no server is left holding its port, its descriptors and its memory.
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(1)));
        Path file = Path.of(args[0]);
        Castellan server = Castellan.start(CastellanConfig.parse(Files.readString(file), file));
        var imaps = server.addresses().get("imaps");
        StringBuilder ready = new StringBuilder("READY " + (imaps == null ? 0 : imaps.getPort()));
        server.addresses().forEach((name, address) -> {
            if (!name.equals("imaps")) ready.append(' ').append(name).append('=').append(address.getPort());
        });
        // On an edge: how many of its links resumed a TLS session, in its log when the benchmark stops it.
        server.edgeRelay().ifPresent(relay -> Runtime.getRuntime().addShutdownHook(new Thread(() ->
                System.err.println("links resumed by ticket: " + relay.resumedLinks()))));
        System.out.println(ready);
        System.out.flush();
        Thread.currentThread().join();
    }
}
