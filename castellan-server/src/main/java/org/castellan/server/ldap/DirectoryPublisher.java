package org.castellan.server.ldap;

import com.unboundid.ldap.sdk.Attribute;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.LDAPConnection;
import com.unboundid.ldap.sdk.LDAPConnectionOptions;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.Modification;
import com.unboundid.ldap.sdk.ModificationType;
import com.unboundid.ldap.sdk.ResultCode;
import com.unboundid.ldap.sdk.SearchResultEntry;
import com.unboundid.ldap.sdk.SearchScope;
import com.unboundid.ldap.sdk.extensions.StartTLSExtendedRequest;
import com.unboundid.util.ssl.HostNameSSLSocketVerifier;
import com.unboundid.util.ssl.JVMDefaultTrustManager;
import com.unboundid.util.ssl.PEMFileTrustManager;
import com.unboundid.util.ssl.SSLUtil;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.server.config.Directory;

/**
 * Publishes the user CA's certificates to an enterprise directory ({@code [directory.publish]},
 * docs/kms.md): for each address, the entry {@code (mail=<address>)} under the base DN gets the
 * certificates {@link CertificateDirectory} lists for it in {@code userCertificate;binary}
 * (RFC 4523 §2.1), and loses those of the user CA that it no longer lists (revoked, expired).
 * Values from other issuers are never touched, and a run that changes nothing writes nothing, so
 * publishing twice is harmless.
 *
 * <p>SECURITY: the connection is TLS from the first byte ({@code ldaps:}) or after a StartTLS that
 * must succeed (RFC 4513 §3), the directory's certificate verified against {@code ca-file} (or the
 * JVM's trust) and its host name (RFC 6125), before the bind's password is sent. The entry is
 * found with {@link Filter#createEqualityFilter}, which escapes the address (RFC 4515 §3), never by
 * pasting it into a filter string.
 *
 * <p>Failure: {@link #connect} and {@link #publish} throw {@link LDAPException} with the
 * directory's result; {@link #publishAll} counts failures per address and goes on.
 */
public final class DirectoryPublisher {

    /** Reaching the directory; past it the address is reported as failed and retried later. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** One search or modification. */
    static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
    /** The attribute written; RFC 4523 §2.1 requires the ;binary transfer option for it. */
    static final String ATTRIBUTE = "userCertificate;binary";

    private final Directory.Publish settings;
    private final CertificateAuthority ca;
    private final CertificateDirectory directory;

    /** What publishing one address did. */
    public enum Outcome {
        /** Certificates were added or removed. */
        UPDATED,
        /** The entry already held exactly what it should. */
        UNCHANGED,
        /** No entry has the address. */
        NO_ENTRY,
        /** More than one entry has the address: which one is meant is the operator's call. */
        AMBIGUOUS
    }

    /** The result of {@link #publishAll}: a count per outcome, failures, and a line per address not updated. */
    public record Report(int updated, int unchanged, int noEntry, int ambiguous, int failed, List<String> problems) {
        public Report {
            problems = List.copyOf(problems);
        }
    }

    public DirectoryPublisher(Directory.Publish settings, CertificateAuthority ca, CertificateDirectory directory) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.ca = Objects.requireNonNull(ca, "ca");
        this.directory = Objects.requireNonNull(directory, "directory");
    }

    public Directory.Publish settings() {
        return settings;
    }

    /** A connection inside verified TLS, bound as {@code bind-dn}. */
    public LDAPConnection connect() throws LDAPException {
        LDAPConnectionOptions options = new LDAPConnectionOptions();
        options.setConnectTimeoutMillis((int) CONNECT_TIMEOUT.toMillis());
        options.setResponseTimeoutMillis(RESPONSE_TIMEOUT.toMillis());
        options.setSSLSocketVerifier(new HostNameSSLSocketVerifier(false));
        SSLContext tls = tls();
        String host = settings.url().getHost();
        boolean implicit = settings.implicitTls();
        int port = settings.url().getPort() > 0 ? settings.url().getPort() : implicit ? 636 : 389;
        LDAPConnection connection = implicit
                ? new LDAPConnection(tls.getSocketFactory(), options, host, port)
                : new LDAPConnection(options, host, port);
        try {
            if (!implicit) {
                // RFC 4513 §3: StartTLS before anything else; a directory that refuses it gets no password.
                var started = connection.processExtendedOperation(new StartTLSExtendedRequest(tls));
                if (started.getResultCode() != ResultCode.SUCCESS) {
                    throw new LDAPException(started.getResultCode(), "the directory refused StartTLS: "
                            + started.getDiagnosticMessage());
                }
            }
            byte[] password = password();
            try {
                connection.bind(new com.unboundid.ldap.sdk.SimpleBindRequest(settings.bindDn(), password));
            } finally {
                Arrays.fill(password, (byte) 0);
            }
            return connection;
        } catch (LDAPException e) {
            connection.close();
            throw e;
        }
    }

    /** Brings the entry of {@code address} up to date over {@code connection}. */
    public Outcome publish(LDAPConnection connection, String address) throws LDAPException {
        List<SearchResultEntry> entries = connection.search(settings.baseDn(), SearchScope.SUB,
                Filter.createEqualityFilter("mail", address), "userCertificate").getSearchEntries();
        if (entries.isEmpty()) return Outcome.NO_ENTRY;
        if (entries.size() > 1) return Outcome.AMBIGUOUS;
        SearchResultEntry entry = entries.getFirst();
        List<byte[]> present = new ArrayList<>();
        for (Attribute a : entry.getAttributes()) {
            if (a.getBaseName().equalsIgnoreCase("userCertificate")) present.addAll(Arrays.asList(a.getValueByteArrays()));
        }
        List<byte[]> wanted = new ArrayList<>();
        for (X509Certificate c : directory.find(address).map(CertificateDirectory.Listing::certificates).orElse(List.of())) {
            wanted.add(der(c));
        }
        List<byte[]> add = wanted.stream().filter(w -> present.stream().noneMatch(p -> Arrays.equals(p, w))).toList();
        List<byte[]> remove = present.stream()
                .filter(this::fromUserCa)
                .filter(p -> wanted.stream().noneMatch(w -> Arrays.equals(p, w))).toList();
        if (add.isEmpty() && remove.isEmpty()) return Outcome.UNCHANGED;
        List<Modification> changes = new ArrayList<>();
        if (!remove.isEmpty()) changes.add(new Modification(ModificationType.DELETE, ATTRIBUTE, remove.toArray(new byte[0][])));
        if (!add.isEmpty()) changes.add(new Modification(ModificationType.ADD, ATTRIBUTE, add.toArray(new byte[0][])));
        connection.modify(entry.getDN(), changes);
        return Outcome.UPDATED;
    }

    /** Connects and publishes {@code address}. */
    public Outcome publish(String address) throws LDAPException {
        try (LDAPConnection connection = connect()) {
            return publish(connection, address);
        }
    }

    /**
     * Publishes every address the user CA ever issued for (so that revoked and expired
     * certificates are removed too), over one connection; a failure of one address is counted and
     * the others go on. A failure to connect counts every address as failed.
     */
    public Report publishAll() {
        Collection<String> addresses = new TreeSet<>();
        for (IssuedEntry e : ca.issued()) if (e.kind() == CertificateKind.USER) addresses.add(e.owner());
        return publishAll(addresses);
    }

    /** As {@link #publishAll()}, for {@code addresses} only. */
    public Report publishAll(Collection<String> addresses) {
        int updated = 0;
        int unchanged = 0;
        int noEntry = 0;
        int ambiguous = 0;
        int failed = 0;
        List<String> problems = new ArrayList<>();
        if (addresses.isEmpty()) return new Report(0, 0, 0, 0, 0, problems);
        try (LDAPConnection connection = connect()) {
            for (String address : addresses) {
                try {
                    switch (publish(connection, address)) {
                        case UPDATED -> updated++;
                        case UNCHANGED -> unchanged++;
                        case NO_ENTRY -> {
                            noEntry++;
                            problems.add(address + ": no entry (mail=" + address + ") under " + settings.baseDn());
                        }
                        case AMBIGUOUS -> {
                            ambiguous++;
                            problems.add(address + ": more than one entry (mail=" + address + ") under " + settings.baseDn());
                        }
                    }
                } catch (LDAPException e) {
                    failed++;
                    problems.add(address + ": " + describe(e));
                }
            }
        } catch (LDAPException e) {
            failed = addresses.size() - updated - unchanged - noEntry - ambiguous;
            problems.add(settings.url() + ": " + describe(e));
        }
        return new Report(updated, unchanged, noEntry, ambiguous, failed, problems);
    }

    /** The directory's result in a line for the operator. */
    public static String describe(LDAPException e) {
        String message = e.getDiagnosticMessage() != null ? e.getDiagnosticMessage() : e.getMessage();
        return e.getResultCode().getName() + (message == null ? "" : " (" + message + ")");
    }

    private boolean fromUserCa(byte[] der) {
        try {
            var certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            X509Certificate issuer = ca.caCertificate(CertificateKind.USER);
            if (!certificate.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) return false;
            certificate.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false; // not ours, or not a certificate: someone else's value, left alone
        }
    }

    private SSLContext tls() throws LDAPException {
        try {
            TrustManager trust = settings.caFile().isPresent()
                    ? new PEMFileTrustManager(settings.caFile().get().toFile())
                    : JVMDefaultTrustManager.getInstance();
            // The SDK enables TLS 1.3 and 1.2 only, as the server's modern preset does.
            return new SSLUtil(trust).createSSLContext();
        } catch (GeneralSecurityException e) {
            throw new LDAPException(ResultCode.LOCAL_ERROR, "cannot use " + settings.caFile().map(Object::toString)
                    .orElse("the system's trusted certificates") + " to verify the directory: " + e.getMessage(), e);
        }
    }

    private byte[] password() throws LDAPException {
        try {
            String text = Files.readString(settings.passwordFile(), StandardCharsets.UTF_8);
            int end = text.indexOf('\n');
            String line = (end < 0 ? text : text.substring(0, end)).replace("\r", "");
            return line.getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LDAPException(ResultCode.LOCAL_ERROR, "cannot read " + settings.passwordFile() + ": " + e.getMessage(), e);
        }
    }

    private static byte[] der(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a certificate the CA issued does not encode", e);
        }
    }
}
