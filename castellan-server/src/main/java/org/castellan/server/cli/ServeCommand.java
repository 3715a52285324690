package org.castellan.server.cli;

import java.util.concurrent.Callable;
import org.castellan.server.Castellan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run the server of a data directory made by 'castellan init'.",
                "SIGTERM or SIGINT stops it gracefully (exit code 0)."})
final class ServeCommand implements Callable<Integer> {

    @Mixin DataOptions where;

    @Override
    public Integer call() throws Exception {
        Castellan server = Castellan.start(where.load());
        return Foreground.serveUntilSignalled(server);
    }
}
