package org.castellan.server.ldap;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.castellan.security.auth.AuthService;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.config.Directory;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.ProtocolService;

/**
 * The certificate directory on {@code protocol = "ldaps"} and {@code "ldap"} listeners (docs/ldap.md):
 * LDAPv3 (RFC 4511), read-only, the user CA's published certificates by address.
 *
 * <p>SECURITY. Trusts: nothing from the client. A message is framed by its outer length within
 * {@link #MAX_MESSAGE} and its nesting is bounded ({@link #MAX_NESTING}) before the UnboundID
 * SDK decodes it; filters are evaluated over the decoded tree, never turned into strings. The
 * ldaps listener is implicit TLS only (the configuration refuses anything else), so a session opens
 * after the connection rules and the handshake, as every protocol's does (docs/design.md §2), and
 * the device gate applies; on an ldap listener nothing but StartTLS, an anonymous bind and the root
 * DSE is served before TLS (confidentialityRequired). Simple binds go to AuthService (protocol {@value Bind#PROTOCOL})
 * with its limiter and log. Exposes: the root DSE, the naming context, and for each address with
 * a valid, unrevoked user certificate its entry; a client that has not bound only by naming the
 * address in full ({@code [directory] anonymous}). Nothing can be written.
 */
public final class LdapService implements ProtocolService {

    /**
     * The largest LDAPMessage read: a search with an address-book filter is a few hundred octets
     * and a bind under one KiB; 64 KiB is slapd's sockbuf_max_incoming_auth default and ends a
     * flood of filter terms before it is decoded.
     */
    public static final int MAX_MESSAGE = 64 * 1024;
    /**
     * How deep BER elements may nest in one message: the message, its operation and a filter of
     * a dozen levels (Thunderbird's is two). Bounds the SDK's recursive filter decoding, which a
     * 64 KiB message of nested NOTs could otherwise drive thousands of frames deep.
     */
    public static final int MAX_NESTING = 16;
    /** The pipeline name of the frame decoder, which StartTLS replaces to drop cleartext read ahead. */
    static final String FRAMES = "ldap-frames";
    /** A connection without a request this long is closed, as slapd's idletimeout does. */
    public static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);

    private final AuthService auth;
    private final ExecutorService blocking;
    private final DirectoryTree tree;
    private final Search search;
    private final Supplier<List<CertificateDirectory.Listing>> listings;

    /**
     * @param listings the published certificates, read on {@code blocking} for each search
     *     (empty without a built-in CA)
     * @param baseDn the naming context in force ({@link Directory#baseDn(String)})
     */
    public LdapService(Directory policy, String baseDn, Supplier<List<CertificateDirectory.Listing>> listings,
                       AuthService auth, ExecutorService blocking) {
        this.auth = Objects.requireNonNull(auth, "auth");
        this.blocking = Objects.requireNonNull(blocking, "blocking");
        this.listings = Objects.requireNonNull(listings, "listings");
        this.tree = new DirectoryTree(baseDn);
        this.search = new Search(tree, policy);
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        pipeline.addLast("ldap-idle", new IdleStateHandler(0, 0, IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
        pipeline.addLast(FRAMES, new LdapFrameDecoder());
        pipeline.addLast("ldap-session", new LdapSession(connection, auth, blocking, tree, search, listings));
    }
}
