package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.unboundid.ldap.sdk.AddRequest;
import com.unboundid.ldap.sdk.Attribute;
import com.unboundid.ldap.sdk.ExtendedRequest;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.LDAPConnection;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.LDAPResult;
import com.unboundid.ldap.sdk.LDAPSearchException;
import com.unboundid.ldap.sdk.ResultCode;
import com.unboundid.ldap.sdk.SearchRequest;
import com.unboundid.ldap.sdk.SearchResult;
import com.unboundid.ldap.sdk.SearchResultEntry;
import com.unboundid.ldap.sdk.SearchScope;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The certificate directory on the standard {@code ldaps} listener (RFC 4511 over implicit TLS,
 * RFC 4513 §3.1.3): {@code ldapsearch} finds alice's S/MIME certificate by her address as
 * {@code userCertificate;binary} (RFC 4523 §2.1), the same certificate openssl reads; after
 * {@code castellan cert revoke} the next search finds nothing. Then the harvesting policy and
 * bad input through the UnboundID client: a client that has not bound may only name whole
 * addresses; filters that try to widen that ({@code (mail=*)}, an OR with {@code (objectClass=*)},
 * an escaped {@code \2a}, a NUL byte), an OR of 10,000 terms, deep nesting, a wrong base, the
 * attribute list, typesOnly, the size limit, writes and unknown operations, and bytes that are not
 * LDAP at all.
 */
class LdapDirectoryTest {

    private static final String BASE = "dc=localhost";
    private static final String ALICE = LiveServer.ACCOUNT;
    private static final String BOB = "bob@example.org";

    @TempDir Path tmp;
    LiveServer live;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void ldapsearchFindsAlicesCertificateByAddressUntilItIsRevoked() throws Exception {
        String serial = issueUser(ALICE);
        String ldif = ldapsearch("(mail=" + ALICE + ")", "userCertificate;binary");
        assertThat(ldif).contains("dn: mail=" + ALICE + ",ou=people," + BASE);
        Matcher value = Pattern.compile("userCertificate;binary:: ((?:[A-Za-z0-9+/=]+\n ?)+)").matcher(ldif);
        assertThat(value.find()).as(ldif).isTrue();
        Path der = Files.write(tmp.resolve("alice.der"), Base64.getMimeDecoder().decode(value.group(1).replace("\n ", "")));
        String text = run(Map.of(), "openssl", "x509", "-inform", "DER", "-in", der.toString(), "-noout", "-serial", "-subject");
        assertThat(text.toLowerCase()).contains("serial=" + String.format("%32s", serial).replace(' ', '0').replaceFirst("^0+", ""))
                .contains("cn = " + ALICE);
        assertThat(ldif).as("only the attribute asked for").doesNotContain("userSMIMECertificate").doesNotContain("cn:");

        Cli.Run revoke = live.cli.admin("cert", "revoke", serial);
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(ldapsearch("(mail=" + ALICE + ")", "userCertificate;binary")).doesNotContain("dn:");
    }

    @Test
    void anEntryCarriesTheInetOrgPersonAttributesAndACertsOnlyPkcs7() throws Exception {
        issueUser(ALICE);
        try (LDAPConnection ldap = connect()) {
            SearchResultEntry entry = ldap.searchForEntry(BASE, SearchScope.SUB, Filter.createEqualityFilter("mail", ALICE));
            assertThat(entry.getDN()).isEqualTo("mail=" + ALICE + ",ou=people," + BASE);
            assertThat(entry.getAttributeValues("objectClass")).contains("inetOrgPerson");
            assertThat(entry.getAttributeValue("mail")).isEqualTo(ALICE);
            X509Certificate certificate = certificate(entry.getAttributeValueBytes("userCertificate;binary"));
            // RFC 2798 §2.8: a PKCS#7 SignedData holding the certificate.
            var pkcs7 = new CMSSignedData(entry.getAttributeValueBytes("userSMIMECertificate"));
            assertThat(pkcs7.getCertificates().getMatches(null)).hasSize(1)
                    .first().satisfies(h -> assertThat(h.getEncoded()).isEqualTo(certificate.getEncoded()));
        }
    }

    @Test
    void theRootDseNamesTheNamingContext() throws Exception {
        try (LDAPConnection ldap = connect()) {
            var root = ldap.getRootDSE();
            assertThat(root.getNamingContextDNs()).containsExactly(BASE);
            assertThat(root.getSupportedLDAPVersions()).containsExactly(3);
        }
    }

    /** RFC 4512 §2.3.1: an entry holds the value its RDN names, so the naming context's entry says dc: localhost. */
    @Test
    void theNamingContextsEntryHoldsItsOwnName() throws Exception {
        try (LDAPConnection ldap = connect()) {
            SearchResultEntry base = ldap.getEntry(BASE);
            assertThat(base).isNotNull();
            assertThat(base.getAttributeValue("dc")).isEqualTo("localhost");
        }
    }

    @Test
    void anonymousClientsCannotHarvestTheDirectory() throws Exception {
        issueUser(ALICE);
        issueUser(BOB);
        try (LDAPConnection ldap = connect()) {
            for (String filter : List.of("(mail=*)", "(mail=*@example.org)", "(|(mail=" + ALICE + ")(objectClass=*))",
                    "(objectClass=*)", "(cn=*ali*)", "(!(mail=" + ALICE + "))", "(|(mail=*ali*)(cn=*ali*)(sn=*ali*))")) {
                assertThat(code(ldap, BASE, SearchScope.SUB, filter)).as(filter).isEqualTo(ResultCode.UNWILLING_TO_PERFORM);
            }
            // An escaped asterisk is a literal one (RFC 4515 §3), not a wildcard: it names no address.
            SearchResult escaped = ldap.search(BASE, SearchScope.SUB, "(mail=\\2a)");
            assertThat(escaped.getResultCode()).isEqualTo(ResultCode.SUCCESS);
            assertThat(escaped.getEntryCount()).isZero();
            // A NUL byte in the value names an address nobody has.
            SearchResult nul = ldap.search(BASE, SearchScope.SUB, Filter.createEqualityFilter("mail", ALICE + "\0*"));
            assertThat(nul.getEntryCount()).isZero();
            // Whole addresses, alone or ANDed with anything, or an OR of them: answered.
            assertThat(ldap.search(BASE, SearchScope.SUB, "(&(mail=" + ALICE + ")(objectClass=*))").getEntryCount()).isOne();
            assertThat(ldap.search(BASE, SearchScope.SUB, "(|(mail=" + ALICE + ")(mail=" + BOB + "))").getEntryCount()).isEqualTo(2);
            assertThat(ldap.search(BASE, SearchScope.SUB, "(MAIL=ALICE@EXAMPLE.ORG)").getEntryCount()).isOne();
            // A base read names its entry.
            assertThat(ldap.search("mail=" + ALICE + ",ou=people," + BASE, SearchScope.BASE, "(objectClass=*)")
                    .getEntryCount()).isOne();
        }
    }

    @Test
    void aBoundAccountMaySearchBySubstringsWithinTheSizeLimit() throws Exception {
        issueUser(ALICE);
        issueUser(BOB);
        try (LDAPConnection ldap = connect()) {
            assertThatThrownBy(() -> ldap.bind("mail=" + ALICE + ",ou=people," + BASE, "wrong password"))
                    .isInstanceOfSatisfying(LDAPException.class,
                            e -> assertThat(e.getResultCode()).isEqualTo(ResultCode.INVALID_CREDENTIALS));
            assertThat(ldap.bind("mail=" + ALICE + ",ou=people," + BASE, Cli.Pop3Password.VALUE).getResultCode())
                    .isEqualTo(ResultCode.SUCCESS);
            // Thunderbird's address-book filter.
            SearchResult found = ldap.search(BASE, SearchScope.SUB, "(|(mail=*bob*)(cn=*bob*)(givenName=*bob*)(sn=*bob*))");
            assertThat(found.getSearchEntries()).extracting(e -> e.getAttributeValue("mail")).containsExactly(BOB);
            assertThat(ldap.search(BASE, SearchScope.SUB, "(mail=*)").getEntryCount()).isEqualTo(2);

            // RFC 4511 §4.5.1.4: the entries up to the client's limit, then sizeLimitExceeded.
            SearchRequest one = new SearchRequest(BASE, SearchScope.SUB, "(mail=*)");
            one.setSizeLimit(1);
            assertThatThrownBy(() -> ldap.search(one)).isInstanceOfSatisfying(LDAPSearchException.class, e -> {
                assertThat(e.getResultCode()).isEqualTo(ResultCode.SIZE_LIMIT_EXCEEDED);
                assertThat(e.getEntryCount()).isOne();
            });
        }
        // The address alone binds too, as Active Directory's user principal names do.
        try (LDAPConnection ldap = connect()) {
            assertThat(ldap.bind(BOB.replace("bob", "alice"), Cli.Pop3Password.VALUE).getResultCode()).isEqualTo(ResultCode.SUCCESS);
        }
    }

    @Test
    void attributeSelectionAndTypesOnly() throws Exception {
        issueUser(ALICE);
        try (LDAPConnection ldap = connect()) {
            SearchResultEntry mailOnly = ldap.searchForEntry(BASE, SearchScope.SUB, "(mail=" + ALICE + ")", "mail");
            assertThat(mailOnly.getAttributes()).extracting(Attribute::getName).containsExactly("mail");
            SearchResultEntry none = ldap.searchForEntry(BASE, SearchScope.SUB, "(mail=" + ALICE + ")", "1.1");
            assertThat(none.getAttributes()).isEmpty();
            SearchRequest types = new SearchRequest(BASE, SearchScope.SUB, "(mail=" + ALICE + ")", "userCertificate", "mail");
            types.setTypesOnly(true);
            SearchResultEntry typed = ldap.search(types).getSearchEntries().getFirst();
            assertThat(typed.getAttributes()).extracting(Attribute::getName).containsExactlyInAnyOrder("mail", "userCertificate;binary");
            assertThat(typed.getAttributes()).allSatisfy(a -> assertThat(a.hasValue()).isFalse());
        }
    }

    /**
     * RFC 4511 §4.5.1.2: each scope from each of the three kinds of entry: a base search is the
     * entry itself, singleLevel its children only, wholeSubtree the entry and all below it, and
     * subordinateSubtree (draft-sermersheim-ldap-subordinate-scope) all below it without it. An
     * empty base with a wider scope searches the naming context.
     */
    @Test
    void everyScopeFromTheBaseThePeopleAndAnAddress() throws Exception {
        issueUser(ALICE);
        issueUser(BOB);
        String people = "ou=people," + BASE;
        String alice = "mail=" + ALICE + "," + people;
        String bob = "mail=" + BOB + "," + people;
        try (LDAPConnection ldap = connect()) {
            ldap.bind(alice, Cli.Pop3Password.VALUE);
            assertThat(dns(ldap, BASE, SearchScope.BASE)).containsExactly(BASE);
            assertThat(dns(ldap, BASE, SearchScope.ONE)).containsExactly(people);
            assertThat(dns(ldap, BASE, SearchScope.SUB)).containsExactlyInAnyOrder(BASE, people, alice, bob);
            assertThat(dns(ldap, BASE, SearchScope.SUBORDINATE_SUBTREE)).containsExactlyInAnyOrder(people, alice, bob);
            assertThat(dns(ldap, "", SearchScope.SUB)).containsExactlyInAnyOrder(BASE, people, alice, bob);

            assertThat(dns(ldap, people, SearchScope.BASE)).containsExactly(people);
            assertThat(dns(ldap, people, SearchScope.ONE)).containsExactlyInAnyOrder(alice, bob);
            assertThat(dns(ldap, people, SearchScope.SUB)).containsExactlyInAnyOrder(people, alice, bob);
            assertThat(dns(ldap, people, SearchScope.SUBORDINATE_SUBTREE)).containsExactlyInAnyOrder(alice, bob);

            assertThat(dns(ldap, alice, SearchScope.BASE)).containsExactly(alice);
            assertThat(dns(ldap, alice, SearchScope.ONE)).isEmpty();
            assertThat(dns(ldap, alice, SearchScope.SUB)).containsExactly(alice);
            assertThat(dns(ldap, alice, SearchScope.SUBORDINATE_SUBTREE)).isEmpty();
        }
    }

    /**
     * RFC 4511 §4.1.9: a search whose base does not exist answers noSuchObject with the matchedDN
     * of the deepest entry that does: the people container for an address nobody has, the naming
     * context for another container under it, nothing for a name outside the directory.
     */
    @Test
    void aMissingBaseNamesTheDeepestEntryThatExists() throws Exception {
        issueUser(ALICE);
        try (LDAPConnection ldap = connect()) {
            ldap.bind("mail=" + ALICE + ",ou=people," + BASE, Cli.Pop3Password.VALUE);
            assertThat(matched(ldap, "mail=carol@example.org,ou=people," + BASE)).isEqualTo("ou=people," + BASE);
            assertThat(matched(ldap, "cn=" + ALICE + ",ou=people," + BASE)).isEqualTo("ou=people," + BASE);
            assertThat(matched(ldap, "ou=groups," + BASE)).isEqualTo(BASE);
            assertThat(matched(ldap, "dc=example,dc=com")).isNullOrEmpty();
        }
    }

    /**
     * RFC 3673: {@code +} asks for the operational attributes, which on the root DSE are all it
     * has (RFC 4512 §5.1); the directory's other entries have none, so {@code +} alone returns
     * them bare.
     */
    @Test
    void plusReadsTheRootDseButNoAttributeOfAnotherEntry() throws Exception {
        issueUser(ALICE);
        try (LDAPConnection ldap = connect()) {
            SearchResultEntry root = ldap.searchForEntry("", SearchScope.BASE, "(objectClass=*)", "+");
            assertThat(root.getAttributeValues("namingContexts")).containsExactly(BASE);
            SearchResultEntry entry = ldap.searchForEntry(BASE, SearchScope.SUB, "(mail=" + ALICE + ")", "+");
            assertThat(entry.getDN()).isEqualTo("mail=" + ALICE + ",ou=people," + BASE);
            assertThat(entry.getAttributes()).isEmpty();
        }
    }

    @Test
    void oversizedDeepAndWrongRequestsGetClearAnswers() throws Exception {
        issueUser(ALICE);
        try (LDAPConnection ldap = connect()) {
            assertThat(code(ldap, "dc=example,dc=com", SearchScope.SUB, "(mail=" + ALICE + ")")).isEqualTo(ResultCode.NO_SUCH_OBJECT);
            assertThat(code(ldap, "not a dn", SearchScope.SUB, "(mail=" + ALICE + ")")).isEqualTo(ResultCode.INVALID_DN_SYNTAX);

            // More filter items than any address book sends: adminLimitExceeded, the connection goes on.
            List<Filter> hundred = new ArrayList<>();
            for (int i = 0; i < 100; i++) hundred.add(Filter.createEqualityFilter("mail", "user" + i + "@example.org"));
            assertThat(code(ldap, BASE, SearchScope.SUB, Filter.createORFilter(hundred)))
                    .isEqualTo(ResultCode.ADMIN_LIMIT_EXCEEDED);
            Filter deep = Filter.createEqualityFilter("mail", ALICE);
            for (int i = 0; i < 200; i++) deep = Filter.createNOTFilter(deep);
            assertThat(code(ldap, BASE, SearchScope.SUB, deep)).isEqualTo(ResultCode.ADMIN_LIMIT_EXCEEDED);

            // The directory is read-only; unknown extended operations are protocolError (RFC 4511 §4.12).
            LDAPResult add = ldap.processOperation(new AddRequest("mail=eve@example.org,ou=people," + BASE,
                    new Attribute("objectClass", "inetOrgPerson")));
            assertThat(add.getResultCode()).isEqualTo(ResultCode.UNWILLING_TO_PERFORM);
            assertThatThrownBy(() -> ldap.processExtendedOperation(new ExtendedRequest("1.2.3.4")))
                    .isInstanceOfSatisfying(LDAPException.class,
                            e -> assertThat(e.getResultCode()).isEqualTo(ResultCode.PROTOCOL_ERROR));
            assertThat(ldap.search(BASE, SearchScope.SUB, "(mail=" + ALICE + ")").getEntryCount()).isOne();

            // 10,000 terms are more than a message may hold: the Notice of Disconnection, then the end.
            List<Filter> many = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) many.add(Filter.createEqualityFilter("mail", "user" + i + "@example.org"));
            assertThatThrownBy(() -> ldap.search(BASE, SearchScope.SUB, Filter.createORFilter(many)))
                    .isInstanceOf(LDAPException.class);
        }
        try (LDAPConnection again = connect()) {
            assertThat(again.search(BASE, SearchScope.SUB, "(mail=" + ALICE + ")").getEntryCount()).isOne();
        }
    }

    /**
     * RFC 4511 §4.6 to §4.10: every operation that would write, and compare, is answered with its
     * own response type, unwillingToPerform (the directory is read-only), under its message ID; an
     * answer of another operation's type is a protocol error to a strict client. Read off the wire,
     * since the SDK's own client takes any result under the right message ID.
     */
    @Test
    void everyWriteIsAnsweredWithItsOwnResponse() throws Exception {
        issueUser(ALICE);
        String alice = "mail=" + ALICE + ",ou=people," + BASE;
        try (SSLSocket socket = (SSLSocket) live.clientContext(null).getSocketFactory()
                .createSocket("localhost", live.address("ldaps").getPort())) {
            socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            var reader = new com.unboundid.asn1.ASN1StreamReader(socket.getInputStream());
            eachAnsweredInItsOwnType(out, reader, writesAndCompare(alice), WRITE_AND_COMPARE_RESPONSES,
                    ResultCode.UNWILLING_TO_PERFORM_INT_VALUE);
        }
    }

    @Test
    void bytesThatAreNotLdapGetTheNoticeOfDisconnection() throws Exception {
        try (SSLSocket socket = (SSLSocket) live.clientContext(null).getSocketFactory()
                .createSocket("localhost", live.address("ldaps").getPort())) {
            socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write("a1 LOGIN alice secret\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] answer = in.readAllBytes(); // up to the server's close
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).contains("1.3.6.1.4.1.1466.20036");
        }
    }

    @Test
    void theDeviceGateAppliesToTheDirectoryToo() throws Exception {
        live.close();
        live = LiveServer.start(tmp.resolve("gated"), String.join("\n", "[[listener]]", "name = \"ldaps-device\"",
                "protocol = \"ldaps\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"",
                "client-cert = \"require\"", ""));
        int port = live.address("ldaps-device").getPort();
        // Without a device certificate the handshake fails: not one LDAP octet is read or written.
        assertThatThrownBy(() -> {
            try (LDAPConnection ldap = new LDAPConnection(live.clientContext(null).getSocketFactory(), "localhost", port)) {
                ldap.getRootDSE();
            }
        }).isInstanceOf(LDAPException.class);
        LiveServer.Issued laptop = live.issueDevice("laptop");
        try (LDAPConnection ldap = new LDAPConnection(live.clientContext(laptop.p12()).getSocketFactory(), "localhost", port)) {
            assertThat(ldap.getRootDSE().getNamingContextDNs()).containsExactly(BASE);
        }
    }

    @Test
    void aPlainLdapListenerServesTheDirectoryOnlyAfterStartTls() throws Exception {
        live.close();
        live = LiveServer.start(tmp.resolve("starttls"), String.join("\n", "[[listener]]", "name = \"ldap\"",
                "protocol = \"ldap\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"starttls\"", ""));
        issueUser(ALICE);
        int port = live.address("ldap").getPort();
        // ldapsearch -ZZ: StartTLS must succeed (RFC 4513 §3), the certificate checked against the root.
        List<String> command = List.of("ldapsearch", "-LLL", "-x", "-ZZ", "-H", "ldap://127.0.0.1:" + port, "-b", BASE,
                "(mail=" + ALICE + ")", "mail");
        assertThat(run(Map.of("LDAPTLS_CACERT", live.rootCertificate().toString(), "LDAPTLS_REQCERT", "demand"),
                command.toArray(new String[0]))).contains("mail: " + ALICE);

        try (LDAPConnection ldap = new LDAPConnection("127.0.0.1", port)) {
            // Before TLS: the root DSE, which says StartTLS is offered, and nothing else.
            assertThat(ldap.getRootDSE().getSupportedExtendedOperationOIDs()).containsExactly("1.3.6.1.4.1.1466.20037");
            assertThat(code(ldap, BASE, SearchScope.SUB, "(mail=" + ALICE + ")")).isEqualTo(ResultCode.CONFIDENTIALITY_REQUIRED);
            assertThatThrownBy(() -> ldap.bind(ALICE, Cli.Pop3Password.VALUE)).isInstanceOfSatisfying(LDAPException.class,
                    e -> assertThat(e.getResultCode()).isEqualTo(ResultCode.CONFIDENTIALITY_REQUIRED));

            assertThat(ldap.processExtendedOperation(new com.unboundid.ldap.sdk.extensions.StartTLSExtendedRequest(
                    live.clientContext(null))).getResultCode()).isEqualTo(ResultCode.SUCCESS);
            assertThat(ldap.search(BASE, SearchScope.SUB, "(mail=" + ALICE + ")").getEntryCount()).isOne();
            assertThat(ldap.bind(ALICE, Cli.Pop3Password.VALUE).getResultCode()).isEqualTo(ResultCode.SUCCESS);
            // RFC 4511 §4.14.1: StartTLS again, inside TLS, is operationsError.
            assertThatThrownBy(() -> ldap.processExtendedOperation(new com.unboundid.ldap.sdk.extensions.StartTLSExtendedRequest(
                    live.clientContext(null)))).isInstanceOfSatisfying(LDAPException.class,
                    e -> assertThat(e.getResultCode()).isEqualTo(ResultCode.OPERATIONS_ERROR));
        }
    }

    /**
     * The plain LDAP listener before StartTLS (RFC 4513 §3, RFC 4511 §4.1.9): every write, a
     * compare and a search below the root DSE are answered confidentialityRequired, each in its own
     * response type under its message ID; an abandon gets no answer at all (RFC 4511 §4.11) and the
     * connection goes on; a response sent by the client is a message the server cannot take, and
     * gets the Notice of Disconnection (RFC 4511 §4.1.1, §4.4.1). Read off the wire.
     */
    @Test
    void beforeStartTlsEachRequestIsRefusedInItsOwnResponseAndAnAbandonIsNotAnswered() throws Exception {
        live.close();
        live = LiveServer.start(tmp.resolve("starttls"), String.join("\n", "[[listener]]", "name = \"ldap\"",
                "protocol = \"ldap\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"starttls\"", ""));
        String alice = "mail=" + ALICE + ",ou=people," + BASE;
        List<com.unboundid.ldap.protocol.ProtocolOp> requests = new ArrayList<>(writesAndCompare(alice));
        requests.add(new com.unboundid.ldap.protocol.SearchRequestProtocolOp(BASE, SearchScope.SUB,
                com.unboundid.ldap.sdk.DereferencePolicy.NEVER, 0, 0, false, Filter.createEqualityFilter("mail", ALICE),
                List.of()));
        List<Byte> expected = new ArrayList<>(WRITE_AND_COMPARE_RESPONSES);
        expected.add(com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_RESULT_DONE);
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", live.address("ldap").getPort())) {
            socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            var reader = new com.unboundid.asn1.ASN1StreamReader(socket.getInputStream());
            eachAnsweredInItsOwnType(out, reader, requests, expected, ResultCode.CONFIDENTIALITY_REQUIRED_INT_VALUE);

            // The abandon (7) has no answer: the first message after it is the root DSE search's (8).
            out.write(new com.unboundid.ldap.protocol.LDAPMessage(7,
                    new com.unboundid.ldap.protocol.AbandonRequestProtocolOp(6)).encode().encode());
            out.write(new com.unboundid.ldap.protocol.LDAPMessage(8, new com.unboundid.ldap.protocol.SearchRequestProtocolOp(
                    "", SearchScope.BASE, com.unboundid.ldap.sdk.DereferencePolicy.NEVER, 0, 0, false,
                    Filter.createPresenceFilter("objectClass"), List.of())).encode().encode());
            out.flush();
            var entry = com.unboundid.ldap.protocol.LDAPMessage.readFrom(reader, true);
            assertThat(entry.getMessageID()).isEqualTo(8);
            assertThat(entry.getProtocolOpType()).isEqualTo(com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_SEARCH_RESULT_ENTRY);
            var done = com.unboundid.ldap.protocol.LDAPMessage.readFrom(reader, true);
            assertThat(done.getMessageID()).isEqualTo(8);
            assertThat(done.getSearchResultDoneProtocolOp().getResultCode()).isEqualTo(ResultCode.SUCCESS_INT_VALUE);

            // A response from the client: the Notice of Disconnection under message ID 0, then the end.
            out.write(new com.unboundid.ldap.protocol.LDAPMessage(9, new com.unboundid.ldap.protocol.AddResponseProtocolOp(
                    ResultCode.SUCCESS_INT_VALUE, null, null, null)).encode().encode());
            out.flush();
            var notice = com.unboundid.ldap.protocol.LDAPMessage.readFrom(reader, true);
            assertThat(notice.getMessageID()).isZero();
            assertThat(notice.getExtendedResponseProtocolOp().getResponseOID()).isEqualTo("1.3.6.1.4.1.1466.20036");
            assertThat(notice.getExtendedResponseProtocolOp().getResultCode()).isEqualTo(ResultCode.PROTOCOL_ERROR_INT_VALUE);
            assertThat(com.unboundid.ldap.protocol.LDAPMessage.readFrom(reader, true)).isNull();
        }
    }

    @Test
    void searchesFromAClientThatDoesNotReadWaitForIt() throws Exception {
        issueUser(ALICE);
        byte[] one = new com.unboundid.ldap.protocol.LDAPMessage(1, new com.unboundid.ldap.protocol.SearchRequestProtocolOp(
                BASE, SearchScope.SUB, com.unboundid.ldap.sdk.DereferencePolicy.NEVER, 0, 0, false,
                Filter.createEqualityFilter("mail", ALICE), List.of())).encode().encode();
        try (SSLSocket socket = (SSLSocket) live.clientContext(null).getSocketFactory()
                .createSocket("localhost", live.address("ldaps").getPort())) {
            socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            socket.setReceiveBufferSize(64 * 1024);
            socket.startHandshake();
            var connection = live.server.sessions().list().stream()
                    .filter(c -> c.listener().name().equals("ldaps")).findFirst().orElseThrow();
            // Each answer is an entry of a few KiB: thousands of them are megabytes the client never reads.
            OutputStream out = socket.getOutputStream();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < SEARCHES; i++) out.write(one);
                    out.flush();
                } catch (java.io.IOException e) {
                    // the test's end closes the socket
                }
            });
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                    .until(() -> !connection.channel().isWritable());
            assertThat(connection.peakQueuedOutput()).as("output queued for a client that reads nothing")
                    .isLessThan(org.castellan.server.transport.Transport.WRITE_HIGH_WATER + 64 * 1024);

            // Reading, the client gets every answer, in order.
            var reader = new com.unboundid.asn1.ASN1StreamReader(socket.getInputStream());
            int done = 0;
            while (done < SEARCHES) {
                var response = com.unboundid.ldap.protocol.LDAPMessage.readLDAPResponseFrom(reader, true);
                if (response instanceof com.unboundid.ldap.sdk.LDAPResult r) {
                    assertThat(r.getResultCode()).isEqualTo(ResultCode.SUCCESS);
                    done++;
                }
            }
            writer.join();
        }
    }

    /** Enough searches that their answers outgrow the socket buffers on both sides. */
    private static final int SEARCHES = 6000;

    /** A modify, a delete, a modify DN and an add about {@code entry}, and a compare: what a read-only directory refuses. */
    private static List<com.unboundid.ldap.protocol.ProtocolOp> writesAndCompare(String entry) {
        return List.of(
                new com.unboundid.ldap.protocol.ModifyRequestProtocolOp(entry, List.of(new com.unboundid.ldap.sdk.Modification(
                        com.unboundid.ldap.sdk.ModificationType.REPLACE, "cn", "Eve"))),
                new com.unboundid.ldap.protocol.DeleteRequestProtocolOp(entry),
                new com.unboundid.ldap.protocol.ModifyDNRequestProtocolOp(entry, "mail=eve@example.org", true, null),
                new com.unboundid.ldap.protocol.AddRequestProtocolOp("mail=eve@example.org,ou=people," + BASE,
                        List.of(new Attribute("objectClass", "inetOrgPerson"))),
                new com.unboundid.ldap.protocol.CompareRequestProtocolOp(entry, "mail",
                        new com.unboundid.asn1.ASN1OctetString(ALICE)));
    }

    /** The response type of each request of {@link #writesAndCompare}, in order (RFC 4511 §4.6 to §4.10). */
    private static final List<Byte> WRITE_AND_COMPARE_RESPONSES = List.of(
            com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_RESPONSE,
            com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_DELETE_RESPONSE,
            com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_MODIFY_DN_RESPONSE,
            com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_ADD_RESPONSE,
            com.unboundid.ldap.protocol.LDAPMessage.PROTOCOL_OP_TYPE_COMPARE_RESPONSE);

    /**
     * Sends each request under the message IDs from 1 on, one at a time, and reads its answer off
     * the wire: under its ID, of its type in {@code types}, with the result {@code code}.
     */
    private static void eachAnsweredInItsOwnType(OutputStream out, com.unboundid.asn1.ASN1StreamReader reader,
            List<com.unboundid.ldap.protocol.ProtocolOp> requests, List<Byte> types, int code) throws Exception {
        for (int i = 0; i < requests.size(); i++) {
            out.write(new com.unboundid.ldap.protocol.LDAPMessage(i + 1, requests.get(i)).encode().encode());
            out.flush();
            var response = com.unboundid.ldap.protocol.LDAPMessage.readFrom(reader, true);
            assertThat(response.getMessageID()).isEqualTo(i + 1);
            assertThat(response.getProtocolOpType()).as(requests.get(i).getClass().getSimpleName()).isEqualTo(types.get(i));
            assertThat(((com.unboundid.ldap.protocol.GenericResponseProtocolOp) response.getProtocolOp()).getResultCode())
                    .isEqualTo(code);
        }
    }

    private LDAPConnection connect() throws Exception {
        return new LDAPConnection(live.clientContext(null).getSocketFactory(), "localhost", live.address("ldaps").getPort());
    }

    private static ResultCode code(LDAPConnection ldap, String base, SearchScope scope, String filter) throws Exception {
        return code(ldap, base, scope, Filter.create(filter));
    }

    private static ResultCode code(LDAPConnection ldap, String base, SearchScope scope, Filter filter) throws Exception {
        try {
            return ldap.search(base, scope, filter).getResultCode();
        } catch (LDAPSearchException e) {
            return e.getResultCode();
        }
    }

    private static List<String> dns(LDAPConnection ldap, String base, SearchScope scope) throws Exception {
        SearchResult result = ldap.search(base, scope, "(objectClass=*)", "1.1");
        assertThat(result.getResultCode()).isEqualTo(ResultCode.SUCCESS);
        return result.getSearchEntries().stream().map(SearchResultEntry::getDN).toList();
    }

    private static String matched(LDAPConnection ldap, String base) {
        try {
            ldap.search(base, SearchScope.SUB, "(objectClass=*)");
        } catch (LDAPSearchException e) {
            assertThat(e.getResultCode()).isEqualTo(ResultCode.NO_SUCH_OBJECT);
            return e.getMatchedDN();
        }
        throw new AssertionError(base + " was found");
    }

    private String issueUser(String address) {
        if (!address.equals(ALICE)) {
            Cli.Run user = live.cli.withStdin(Cli.Pop3Password.VALUE + "\n", "user", "add", address, "--password-stdin");
            assertThat(user.code()).as(user.err()).isZero();
        }
        Path out = tmp.resolve("handed-over").resolve(address);
        Cli.Run r = live.cli.withStdin(LiveServer.P12_PASSPHRASE + "\n", "cert", "issue", "user", address,
                "--passphrase-stdin", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("certificate ([0-9a-f]+)").matcher(r.out());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private String ldapsearch(String filter, String... attributes) throws Exception {
        List<String> command = new ArrayList<>(List.of("ldapsearch", "-LLL", "-x", "-H",
                "ldaps://127.0.0.1:" + live.address("ldaps").getPort(), "-b", BASE, filter));
        command.addAll(List.of(attributes));
        return run(Map.of("LDAPTLS_CACERT", live.rootCertificate().toString(), "LDAPTLS_REQCERT", "demand"),
                command.toArray(new String[0]));
    }

    private static String run(Map<String, String> environment, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process p = builder.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + out).isZero();
        return out;
    }

    private static X509Certificate certificate(byte[] der) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }
}
