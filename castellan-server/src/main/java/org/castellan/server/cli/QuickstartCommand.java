package org.castellan.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.Passwords;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.logging.LogSetup;
import org.castellan.server.config.ConfigTemplate;
import org.castellan.server.config.Listener;
import org.castellan.server.config.TlsMode;
import org.castellan.server.setup.DataDirectory;
import org.castellan.server.setup.StandardListeners;
import org.castellan.store.MailStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "quickstart", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Start Castellan on its embedded defaults: create the data directory on first run",
                "(configuration, CA, server certificate, store, domain example.test and user",
                "demo@example.test with a password shown once), start every listener and print",
                "what a mail client needs. Run again, it reuses the data directory."})
final class QuickstartCommand implements Callable<Integer> {

    static final String DEMO_DOMAIN = "example.test";
    static final String DEMO_USER = "demo@" + DEMO_DOMAIN;
    static final String DEFAULT_HOSTNAME = "mail." + DEMO_DOMAIN;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "data", description = "Data directory (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--hostname", paramLabel = "NAME", defaultValue = DEFAULT_HOSTNAME, description = "Server host name (default: ${DEFAULT-VALUE}).")
    String hostname;

    @Option(names = "--port-base", paramLabel = "N", defaultValue = "" + StandardListeners.QUICKSTART_PORT_BASE,
            description = "Ports N+525 (MX), N+587, N+465, N+143, N+993, N+110, N+995 (default: ${DEFAULT-VALUE}); 0: any free port. Only used when the data directory is created.")
    int portBase;

    @Option(names = "--listen", paramLabel = "ADDRESS", defaultValue = "127.0.0.1", description = "Address the listeners bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface). Only used when the data directory is created.")
    String listen;

    @Option(names = "--json", description = "Print the settings as one JSON object (for scripts).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Foreground foreground = Foreground.trapStopSignals()) {
            var listeners = InitCommand.Setup.listeners(listen, portBase);
            var dir = new DataDirectory(data);
            var done = dir.initialize(new ConfigTemplate.Params(InitCommand.Setup.hostname(hostname), Path.of("."), listeners));
            var config = new DataOptions();
            config.data = dir.root();
            CastellanConfig loaded = config.load();
            LogSetup.apply(loaded);
            Castellan server = Castellan.start(loaded);
            char[] password = null;
            try {
                password = createDemoAccount(server.store(), server.config().auth().scramIterations());
                print(server, dir, done.rootCertificate(), password);
            } catch (RuntimeException e) {
                server.close();
                throw e;
            } finally {
                if (password != null) Arrays.fill(password, '\0');
            }
            return foreground.serveUntilSignalled(server);
        }
    }

    /** Creates the demo domain and user on first run; returns the new password, or null if they exist. */
    static char[] createDemoAccount(MailStore store, int iterations) {
        EmailAddress demo = EmailAddress.of(DEMO_USER);
        if (store.getDomain(DEMO_DOMAIN).isEmpty()) store.createDomain(DEMO_DOMAIN);
        if (store.getAccount(demo).isPresent()) return null;
        char[] password = Passwords.generate().toCharArray();
        store.createAccount(demo, ScramSecret.derive(password, iterations).encode(), OptionalLong.empty());
        return password;
    }

    private void print(Castellan server, DataDirectory dir, Path ca, char[] password) throws Exception {
        var cfg = server.config();
        Map<String, InetSocketAddress> bound = server.addresses();
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("hostname", cfg.server().hostname());
            out.put("dataDirectory", dir.root().toString());
            out.put("caFile", ca.toString());
            Map<String, Integer> ports = new LinkedHashMap<>();
            Map<String, String> tls = new LinkedHashMap<>();
            for (Listener l : cfg.listeners()) {
                ports.put(l.name(), bound.get(l.name()).getPort());
                tls.put(l.name(), l.tls().name().toLowerCase());
            }
            out.put("address", cfg.listeners().isEmpty() ? null : bound.values().iterator().next().getAddress().getHostAddress());
            out.put("ports", ports);
            out.put("tls", tls);
            Map<String, String> account = new LinkedHashMap<>();
            account.put("username", DEMO_USER);
            if (password != null) account.put("password", new String(password));
            out.put("account", account);
            System.out.println(new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            System.out.flush();
            return;
        }
        var o = System.out;
        o.println();
        o.println("Castellan " + Main.version() + " is running.  Data directory: " + dir.root());
        o.println();
        o.println("  Host name      " + cfg.server().hostname() + "  (certificate also valid for localhost, 127.0.0.1, ::1)");
        o.println("  Trust this CA  " + ca);
        o.println();
        o.printf("  %-14s %-22s %s%n", "Service", "Address", "Security");
        for (Listener l : cfg.listeners()) {
            InetSocketAddress a = bound.get(l.name());
            o.printf("  %-14s %-22s %s%n", l.name(), a.getAddress().getHostAddress() + ":" + a.getPort(),
                    l.tls() == TlsMode.IMPLICIT ? "implicit TLS" : l.tls() == TlsMode.STARTTLS ? "STARTTLS" : "none");
        }
        o.println();
        o.println("  Username       " + DEMO_USER);
        o.println("  Password       " + (password != null ? new String(password) + "   (shown once: save it now)"
                : "(set on first run; change it with: castellan user passwd " + DEMO_USER + " --data " + data + ")"));
        o.println();
        o.println("Stop with Ctrl-C.");
        o.flush();
    }
}
