package org.castellan.server.ldap;

import static org.assertj.core.api.Assertions.assertThat;

import com.unboundid.ldap.protocol.LDAPMessage;
import com.unboundid.ldap.protocol.SearchRequestProtocolOp;
import com.unboundid.ldap.sdk.DereferencePolicy;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.SearchScope;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Framing LDAPMessages by their outer BER length (RFC 4511 §5.1): whole messages, the same bytes
 * one at a time (nothing until the last), several in one read, and the refusals: a first octet
 * that is not SEQUENCE, the indefinite length, and a length over {@link LdapService#MAX_MESSAGE},
 * refused from its header alone, before the body arrives.
 */
class LdapFrameDecoderTest {

    private static byte[] search(int id, String filter) throws Exception {
        return new LDAPMessage(id, new SearchRequestProtocolOp("dc=example,dc=org", SearchScope.SUB,
                DereferencePolicy.NEVER, 0, 0, false, Filter.create(filter), List.of())).encode().encode();
    }

    private static List<Object> feed(EmbeddedChannel channel, byte[]... pieces) {
        List<Object> out = new ArrayList<>();
        for (byte[] piece : pieces) {
            channel.writeInbound(Unpooled.wrappedBuffer(piece));
            for (Object o; (o = channel.readInbound()) != null; ) out.add(o);
        }
        return out;
    }

    @Test
    void wholeMessagesAndTheSameBytesOneAtATime() throws Exception {
        byte[] first = search(1, "(mail=alice@example.org)");
        byte[] second = search(2, "(|(mail=*ali*)(cn=*ali*))");
        byte[] both = new byte[first.length + second.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(second, 0, both, first.length, second.length);

        List<Object> whole = feed(new EmbeddedChannel(new LdapFrameDecoder()), both);
        assertThat(whole).hasSize(2);
        assertThat(((LdapFrameDecoder.Frame.Message) whole.get(0)).der()).isEqualTo(first);
        assertThat(((LdapFrameDecoder.Frame.Message) whole.get(1)).der()).isEqualTo(second);

        EmbeddedChannel slow = new EmbeddedChannel(new LdapFrameDecoder());
        for (int i = 0; i < first.length - 1; i++) {
            assertThat(feed(slow, new byte[] {first[i]})).as("after %d octets", i + 1).isEmpty();
        }
        assertThat(feed(slow, new byte[] {first[first.length - 1]}))
                .singleElement().satisfies(f -> assertThat(((LdapFrameDecoder.Frame.Message) f).der()).isEqualTo(first));
    }

    @Test
    void aLongFormLengthJustUnderTheLimitIsAMessage() {
        int body = LdapService.MAX_MESSAGE - 4;
        byte[] message = new byte[LdapService.MAX_MESSAGE];
        message[0] = 0x30;
        message[1] = (byte) 0x82;
        message[2] = (byte) (body >> 8);
        message[3] = (byte) body;
        assertThat(feed(new EmbeddedChannel(new LdapFrameDecoder()), message)).singleElement()
                .isInstanceOf(LdapFrameDecoder.Frame.Message.class);
    }

    @Test
    void refusalsComeFromTheHeaderAndEndTheStream() {
        EmbeddedChannel tooLarge = new EmbeddedChannel(new LdapFrameDecoder());
        // 0x30 0x83 0x01 0x00 0x00: a message of 65,536 octets announced; refused before any of it arrives.
        assertThat(feed(tooLarge, new byte[] {0x30, (byte) 0x83, 0x01, 0x00, 0x00})).singleElement()
                .isEqualTo(new LdapFrameDecoder.Frame.Refused("message over " + LdapService.MAX_MESSAGE + " octets", true));
        assertThat(feed(tooLarge, new byte[100])).as("nothing after a refusal").isEmpty();

        assertThat(feed(new EmbeddedChannel(new LdapFrameDecoder()), "a1 LOGIN\r\n".getBytes()))
                .singleElement().isEqualTo(new LdapFrameDecoder.Frame.Refused("not an LDAPMessage", false));
        assertThat(feed(new EmbeddedChannel(new LdapFrameDecoder()), new byte[] {0x30, (byte) 0x80, 0x02, 0x01, 0x01}))
                .singleElement().isEqualTo(new LdapFrameDecoder.Frame.Refused("indefinite length", false));
        byte[] fiveOctets = new byte[] {0x30, (byte) 0x85, 0, 0, 0, 0, 1};
        assertThat(feed(new EmbeddedChannel(new LdapFrameDecoder()), Arrays.copyOf(fiveOctets, fiveOctets.length)))
                .singleElement().satisfies(f -> assertThat(((LdapFrameDecoder.Frame.Refused) f).tooLarge()).isTrue());
    }
}
