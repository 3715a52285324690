package org.castellan.server.imap;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * The process {@link LargeMessageCrashTest} runs with a small heap and kills: a whole Castellan
 * started from a configuration file, which prints {@code READY <port>} of its {@code imap}
 * listener and serves until it is killed. Argument: the configuration file.
 */
public final class ImapCrashChild {

    private ImapCrashChild() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Castellan server = Castellan.start(CastellanConfig.parse(Files.readString(file), file));
        System.out.println("READY " + server.addresses().get("imap").getPort());
        System.out.flush();
        Thread.currentThread().join(); // until SIGKILL
    }
}
