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

    /**
     * Reads or generates the password and hands it to {@code use}. A password read from standard
     * input shorter than {@code minLength} code points (NIST SP 800-63B-4 §3.1.1.2 counts each
     * Unicode code point as one character) is refused as bad input before {@code use} runs.
     */
    void use(int minLength, Use use) throws Exception {
        char[] password = fromStdin ? Admin.readPassword() : Admin.generatePassword();
        try {
            int length = Character.codePointCount(password, 0, password.length);
            if (length < minLength) {
                throw new Failures.BadInput("the password has " + length + " character" + (length == 1 ? "" : "s")
                        + "; at least " + minLength + " are needed ([auth] password-min-length); a passphrase of a"
                        + " few words is easier to remember, or leave out --password-stdin to get a generated one");
            }
            use.with(password);
            if (!fromStdin) System.out.println("password: " + new String(password) + "   (shown once: save it now)");
        } finally {
            Arrays.fill(password, '\0');
        }
    }
}
