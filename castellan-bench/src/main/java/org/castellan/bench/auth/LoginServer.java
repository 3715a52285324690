package org.castellan.bench.auth;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * Castellan in its own JVM for {@link LoginBench}, so that the server's CPU time is read apart
 * from the clients'. Creates the account {@code args[1]} with password {@code args[2]}, prints
 * {@code READY <imap port> <imaps port>}, then serves until killed.
 */
public final class LoginServer {

    private LoginServer() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Castellan server = Castellan.start(CastellanConfig.parse(Files.readString(file), file));
        EmailAddress account = EmailAddress.of(args[1]);
        server.store().createDomain(account.domain());
        server.store().createAccount(account,
                ScramSecret.derive(args[2].toCharArray(), server.config().auth().scramIterations()).encode(), OptionalLong.empty());
        System.out.println("READY " + server.addresses().get("imap").getPort() + " " + server.addresses().get("imaps").getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
