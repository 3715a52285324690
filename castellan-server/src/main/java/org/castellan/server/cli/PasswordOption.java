package org.castellan.server.cli;

import java.util.Arrays;
import picocli.CommandLine.Option;

/**
 * Where a new password comes from: standard input, or generated and shown once. The caller
 * passes what to do with it; the characters are wiped afterwards.
 */
final class PasswordOption {

    @Option(names = "--password-stdin", description = "Read the password from the first line of standard input (default: generate one and show it once).")
    boolean fromStdin;

    interface Use {
        void with(char[] password) throws Exception;
    }

    void use(Use use) throws Exception {
        char[] password = fromStdin ? Admin.readPassword() : Admin.generatePassword();
        try {
            use.with(password);
            if (!fromStdin) System.out.println("password: " + new String(password) + "   (shown once: save it now)");
        } finally {
            Arrays.fill(password, '\0');
        }
    }
}
