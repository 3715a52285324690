package org.castellan.server.cli;

import java.util.concurrent.Callable;
import org.castellan.server.config.ConfigTemplate;
import org.castellan.server.setup.DataDirectory;
import org.castellan.server.setup.StandardListeners;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Create a data directory for a deployment: configuration, certificate authority,",
                "server certificate and an empty mail store. What exists already is kept."})
final class InitCommand implements Callable<Integer> {

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "data", description = "Data directory (default: ${DEFAULT-VALUE}).")
    java.nio.file.Path data;

    @Option(names = "--hostname", paramLabel = "NAME", required = true, description = "The server's host name, as clients and other servers know it.")
    String hostname;

    @Option(names = "--listen", paramLabel = "ADDRESS", defaultValue = "0.0.0.0", description = "Address every listener binds (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--port-base", paramLabel = "N", description = "Use unprivileged ports N+525 (MX), N+587, N+465, N+143, N+993, N+110, N+995 instead of the standard ones; 0: any free port.")
    Integer portBase;

    @Override
    public Integer call() {
        var listeners = Setup.listeners(listen, portBase);
        var dir = new DataDirectory(data);
        // data-dir "." keeps the directory movable: paths resolve against the configuration file.
        var done = dir.initialize(new ConfigTemplate.Params(Setup.hostname(hostname), java.nio.file.Path.of("."), listeners));
        System.out.println((done.wroteConfig() ? "created " : "kept existing ") + dir.configFile());
        System.out.println("trust this CA in mail clients: " + done.rootCertificate());
        System.out.println("next: castellan domain add DOMAIN --data " + data + "; castellan serve --data " + data);
        return Main.OK;
    }

    /** Validation shared by init and quickstart. */
    static final class Setup {
        private Setup() {
        }

        static java.util.List<ConfigTemplate.ListenerSpec> listeners(String listen, Integer portBase) {
            if (portBase != null && !StandardListeners.validBase(portBase)) {
                throw new Failures.BadInput("--port-base " + portBase + " puts ports out of range: use 0 (any free port) or a base from 914 to 64540");
            }
            return portBase == null ? StandardListeners.standardPorts(listen) : StandardListeners.fromBase(listen, portBase);
        }

        static String hostname(String name) {
            if (!org.castellan.protocol.mail.EmailAddress.isValidDomain(name)) {
                throw new Failures.BadInput("invalid host name '" + name + "': expected a DNS name such as mail.example.com");
            }
            return name.toLowerCase(java.util.Locale.ROOT);
        }
    }
}
