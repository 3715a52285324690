package org.castellan.server.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.logging.LogSetup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run the server of a data directory made by 'castellan init'.",
                "SIGTERM or SIGINT stops it gracefully (exit code 0).",
                "Run it as an unprivileged user with CAP_NET_BIND_SERVICE, as the packaged systemd unit does."})
final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    /** Linux: its "Uid:" line gives the real, effective, saved and file-system user ids. */
    private static final Path OWN_STATUS = Path.of("/proc/self/status");

    static final String ROOT_WARNING = "castellan serve is running as root: a flaw in any protocol session would"
            + " give the whole machine away. Run it as an unprivileged user with only CAP_NET_BIND_SERVICE for ports"
            + " below 1024, as the packaged systemd unit does (docs/install.md)";

    @Mixin DataOptions where;

    @Override
    public Integer call() throws Exception {
        try (Foreground foreground = Foreground.trapStopSignals()) {
            CastellanConfig config = where.load();
            LogSetup.apply(config);
            if (uid().orElse(-1) == 0) log.warn(ROOT_WARNING);
            Castellan server = Castellan.start(config);
            return foreground.serveUntilSignalled(server);
        }
    }

    /** The effective user id of this process, where the system tells it through /proc. */
    static Optional<Integer> uid() {
        try {
            return Files.readAllLines(OWN_STATUS).stream()
                    .filter(line -> line.startsWith("Uid:"))
                    .map(line -> Integer.valueOf(line.substring(4).strip().split("\\s+")[1]))
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
