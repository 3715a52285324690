package org.castellan.server.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.Passwords;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.setup.Stores;
import org.castellan.store.MailStore;

/** What the administration commands share: opening the store, parsing addresses, reading passwords. */
final class Admin implements AutoCloseable {

    final CastellanConfig config;
    final MailStore store;

    private Admin(CastellanConfig config, MailStore store) {
        this.config = config;
        this.store = store;
    }

    static Admin open(DataOptions where) throws Exception {
        return open(where.load());
    }

    static Admin open(CastellanConfig config) {
        return new Admin(config, Stores.open(config));
    }

    static EmailAddress address(String text) {
        EmailAddress.Parsed parsed = EmailAddress.parse(text);
        if (!parsed.ok()) throw new Failures.BadInput("invalid address " + parsed.error());
        return parsed.address().get();
    }

    /** A SCRAM-SHA-256 secret for the password, with this server's iteration count. */
    String secret(char[] password) {
        return ScramSecret.derive(password, config.auth().scramIterations()).encode();
    }

    /** Reads one line from standard input as the password; an empty one is refused. */
    static char[] readPassword() {
        try {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null || line.isEmpty()) throw new Failures.BadInput("no password on standard input");
            return line.toCharArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static char[] generatePassword() {
        return Passwords.generate().toCharArray();
    }

    @Override
    public void close() {
        store.close();
    }
}
