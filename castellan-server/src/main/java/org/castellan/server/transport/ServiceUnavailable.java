package org.castellan.server.transport;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPipeline;
import java.nio.charset.StandardCharsets;

/**
 * The protocol-correct refusal for a listener whose protocol this server does not serve: the
 * protocol's "service not available" greeting, then close. Clients see a clean, temporary
 * failure instead of a hang or a reset.
 */
public final class ServiceUnavailable implements ProtocolService {

    private final String greeting;

    private ServiceUnavailable(String greeting) {
        this.greeting = greeting;
    }

    /** RFC 5321 §3.8: 421 closes the transmission channel; a client retries later. */
    public static ServiceUnavailable smtp(String hostname) {
        return new ServiceUnavailable("421 4.3.2 " + hostname + " Service not available\r\n");
    }

    /** RFC 9051 §7.1.5: a BYE greeting refuses the connection. */
    public static ServiceUnavailable imap() {
        return new ServiceUnavailable("* BYE [UNAVAILABLE] Service not available\r\n");
    }

    /** RFC 2449 §8.1.2: SYS/TEMP marks a temporary system problem. */
    public static ServiceUnavailable pop3() {
        return new ServiceUnavailable("-ERR [SYS/TEMP] Service not available\r\n");
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        pipeline.channel()
                .writeAndFlush(Unpooled.copiedBuffer(greeting, StandardCharsets.US_ASCII))
                .addListener(ChannelFutureListener.CLOSE);
    }
}
