package org.castellan.server.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.server.setup.DataDirectory;
import picocli.CommandLine.Option;

/** Where a command finds the server: {@code --config FILE}, or {@code --data DIR} holding castellan.toml. */
final class DataOptions {

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data).")
    Path data;

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: DIR/" + DataDirectory.CONFIG_FILE + ").")
    Path config;

    Path dataDirectory() {
        return data != null ? data : Path.of("data");
    }

    Path configFile() {
        return config != null ? config : dataDirectory().resolve(DataDirectory.CONFIG_FILE);
    }

    /** Loads the configuration, or says how to create one when there is none. */
    CastellanConfig load() throws ConfigException {
        Path file = configFile();
        if (!Files.exists(file) && config == null) {
            throw new Failures.BadInput("no Castellan data directory at " + dataDirectory().toAbsolutePath()
                    + " (" + DataDirectory.CONFIG_FILE + " is missing); create one with 'castellan init --data "
                    + dataDirectory() + "' or name another with --data or --config");
        }
        return CastellanConfig.load(file);
    }
}
