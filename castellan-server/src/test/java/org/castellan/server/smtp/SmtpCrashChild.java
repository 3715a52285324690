package org.castellan.server.smtp;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * The process {@link SmtpCrashTest} kills: a whole Castellan started from a configuration file,
 * which prints {@code READY <port>} of its implicit-TLS submission listener and then serves until
 * it is killed. Argument: the configuration file.
 */
public final class SmtpCrashChild {

    private SmtpCrashChild() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Castellan server = Castellan.start(CastellanConfig.parse(Files.readString(file), file));
        System.out.println("READY " + server.addresses().get("submissions").getPort());
        System.out.flush();
        Thread.currentThread().join(); // until SIGKILL
    }
}
