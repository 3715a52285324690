package org.castellan.server.ldap;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.unboundid.asn1.ASN1Element;
import com.unboundid.asn1.ASN1Exception;
import com.unboundid.ldap.protocol.LDAPMessage;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.ResultCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.Optional;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.config.Directory;

/**
 * Jazzer fuzz target for what the directory does with a client's bytes before any I/O: framing
 * ({@link LdapFrameDecoder}), the nesting bound, the SDK's decoding, and a search over a fixed
 * directory ({@link Search}) as an anonymous and as a bound client. Bad input is a refusal, a
 * decoding error the session turns into the Notice of Disconnection, or a SearchResultDone; never
 * another exception, a stack overflow, or more entries than the size limit; an anonymous search
 * that is not a base read never returns an entry its filter does not name in full.
 * {@code ./mvnw verify} runs it in regression mode; {@code JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 */
class LdapFuzzTest {

    private static final Directory POLICY = new Directory("", Directory.Anonymous.EXACT, 2, Optional.empty());
    private static final Search SEARCH = new Search(new DirectoryTree("dc=example,dc=org"), POLICY);
    private static final List<CertificateDirectory.Listing> LISTINGS = List.of(
            new CertificateDirectory.Listing("alice@example.org", List.of()),
            new CertificateDirectory.Listing("a*b@example.org", List.of()),
            new CertificateDirectory.Listing("bob+tag@example.org", List.of()));

    @FuzzTest(maxDuration = "30s")
    void messages(FuzzedDataProvider data) {
        boolean bound = data.consumeBoolean();
        EmbeddedChannel channel = new EmbeddedChannel(new LdapFrameDecoder());
        channel.writeInbound(Unpooled.wrappedBuffer(data.consumeRemainingAsBytes()));
        for (Object frame; (frame = channel.readInbound()) != null; ) {
            if (!(frame instanceof LdapFrameDecoder.Frame.Message m)) continue;
            assertThat(m.der().length).isLessThanOrEqualTo(LdapService.MAX_MESSAGE);
            LDAPMessage message;
            try {
                ASN1Element element = ASN1Element.decode(m.der());
                if (LdapSession.nesting(element) > LdapService.MAX_NESTING) continue;
                message = LDAPMessage.decode(element);
            } catch (ASN1Exception | LDAPException e) {
                continue; // the session answers with the Notice of Disconnection
            }
            if (message.getProtocolOpType() != LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_REQUEST) continue;
            var request = message.getSearchRequestProtocolOp();
            Search.Answer answer = SEARCH.run(request, bound, false, () -> LISTINGS);
            assertThat(answer.done()).isNotNull();
            assertThat(answer.entries().size()).isLessThanOrEqualTo(POLICY.sizeLimit());
            if (!bound && !answer.entries().isEmpty() && request.getScope() != com.unboundid.ldap.sdk.SearchScope.BASE
                    && !request.getBaseDN().isEmpty()) {
                assertThat(Search.pinned(request.getFilter())).as(request.getFilter().toString()).isTrue();
            }
            if (answer.done().getResultCode() == ResultCode.SUCCESS_INT_VALUE) {
                answer.entries().forEach(e -> assertThat(e.getDN()).isNotNull());
            }
        }
    }
}
