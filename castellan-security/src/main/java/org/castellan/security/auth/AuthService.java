package org.castellan.security.auth;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.net.InetAddress;

/**
 * The one authentication service of every protocol (DESIGN §2 step 4).
 */
public final class AuthService implements AutoCloseable {

    public static final String SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS";
    public static final String SCRAM_SHA_256 = "SCRAM-SHA-256";
    public static final String PLAIN = "PLAIN";
    public static final String LOGIN = "LOGIN";
    public static final String EXTERNAL = "EXTERNAL";

    private final CredentialStore credentials;
    private final AuthSettings settings;
    private final Clock clock;

    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock) {
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public List<String> mechanisms(AuthContext ctx) {
        List<String> names = new ArrayList<>();
        if (passwordAllowed(ctx)) {
            if (ctx.tls() && ctx.channelBinding().isPresent()) names.add(SCRAM_SHA_256_PLUS);
            names.add(SCRAM_SHA_256);
            names.add(PLAIN);
            names.add(LOGIN);
        }
        if (ctx.tls() && ctx.clientCertificate().isPresent()) names.add(EXTERNAL);
        return List.copyOf(names);
    }

    public boolean passwordAllowed(AuthContext ctx) {
        return ctx.tls() || ctx.cleartextAllowed();
    }

    public CompletionStage<SaslStep> start(AuthContext ctx, String mechanism, Optional<byte[]> initialResponse) {
        return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));
    }

    public CompletionStage<SaslStep> login(AuthContext ctx, String username, char[] password, String command) {
        return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.TEMPORARY));
    }

    public List<Block> blocks() {
        return List.of();
    }

    public int clearBlocks(InetAddress address) {
        return 0;
    }

    public int clearBlocks() {
        return 0;
    }

    @Override
    public void close() {}
}
