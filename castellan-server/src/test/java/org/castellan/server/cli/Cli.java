package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Runs {@code castellan} in-process against one data directory, capturing its output. */
final class Cli {

    record Run(int code, String out, String err) {}

    final Path data;

    private Cli(Path data) {
        this.data = data;
    }

    /** The commands of a data directory made otherwise (another node's copy of one). */
    static Cli on(Path data) {
        return new Cli(data);
    }

    /** Initialises a data directory with a domain and one account, the way an operator would. */
    static Cli init(Path data, String account) {
        Cli cli = new Cli(data);
        Run r = cli.raw(null, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(r.code()).as(r.err()).isZero();
        String domain = account.substring(account.indexOf('@') + 1);
        assertThat(cli.admin("domain", "add", domain).code()).isZero();
        Run user = cli.withStdin(Pop3Password.VALUE + "\n", "user", "add", account, "--password-stdin");
        assertThat(user.code()).as(user.err()).isZero();
        return cli;
    }

    /** The password of the account made by {@link #init}. */
    static final class Pop3Password {
        static final String VALUE = "correct horse battery";
    }

    Run admin(String... args) {
        return raw(null, withData(args));
    }

    Run withStdin(String stdin, String... args) {
        return raw(stdin, withData(args));
    }

    private String[] withData(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--data";
        all[args.length + 1] = data.toString();
        return all;
    }

    /** Main.run with System.in/out/err swapped; serialised, as those streams are global. */
    static synchronized Run raw(String stdin, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        InputStream in = System.in;
        var o = new ByteArrayOutputStream();
        var e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
            int code = Main.run(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
            System.setIn(in);
        }
    }
}
