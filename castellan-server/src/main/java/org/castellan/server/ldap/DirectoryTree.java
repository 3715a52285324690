package org.castellan.server.ldap;

import com.unboundid.ldap.sdk.Attribute;
import com.unboundid.ldap.sdk.DN;
import com.unboundid.ldap.sdk.Entry;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.RDN;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.http.est.CertsOnly;

/**
 * The directory's names and entries: the naming context {@code <base>}, the container
 * {@code ou=people,<base>}, and one entry {@code mail=<address>,ou=people,<base>} per address
 * holding a publishable user certificate, an inetOrgPerson (RFC 2798) with {@code mail},
 * {@code cn}, {@code userCertificate;binary} (RFC 4523 §2.1, each certificate DER) and
 * {@code userSMIMECertificate} (RFC 2798 §2.8, one certs-only PKCS#7 of them all), the two
 * attributes Outlook and Thunderbird read.
 */
final class DirectoryTree {

    static final String PEOPLE = "people";
    /** RFC 4523 §2.1: the certificate is transferred with the ;binary option (RFC 4522). */
    static final String USER_CERTIFICATE = "userCertificate;binary";
    static final String USER_SMIME_CERTIFICATE = "userSMIMECertificate";

    private final DN base;
    private final DN people;

    DirectoryTree(String baseDn) {
        try {
            this.base = new DN(baseDn);
        } catch (LDAPException e) {
            throw new IllegalArgumentException("not a DN: " + baseDn, e);
        }
        this.people = new DN(new RDN("ou", PEOPLE), base);
    }

    DN base() { return base; }

    DN people() { return people; }

    /** The entry's name for {@code address}, escaped as RFC 4514 asks ({@code +} and {@code ,} may occur in addresses). */
    DN entryDn(String address) {
        return new DN(new RDN("mail", address), people);
    }

    /** The address an entry name under {@code ou=people} stands for, if it is one. */
    Optional<String> addressOf(DN dn) {
        if (!people.equals(dn.getParent())) return Optional.empty();
        RDN rdn = dn.getRDN();
        if (rdn.isMultiValued() || !rdn.getAttributeNames()[0].equalsIgnoreCase("mail")) return Optional.empty();
        return Optional.of(rdn.getAttributeValues()[0]);
    }

    /** The naming context entry. */
    Entry baseEntry() {
        Entry entry = new Entry(base);
        entry.addAttribute("objectClass", "top", "dcObject", "organization");
        RDN rdn = base.getRDN();
        if (rdn != null) entry.addAttribute(rdn.getAttributeNames()[0], rdn.getAttributeValues()[0]);
        return entry;
    }

    Entry peopleEntry() {
        Entry entry = new Entry(people);
        entry.addAttribute("objectClass", "top", "organizationalUnit");
        entry.addAttribute("ou", PEOPLE);
        return entry;
    }

    /** An address's entry with its certificates. */
    Entry entry(CertificateDirectory.Listing listing) {
        Entry entry = new Entry(entryDn(listing.address()));
        entry.addAttribute("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson");
        entry.addAttribute("mail", listing.address());
        entry.addAttribute("cn", listing.address());
        // sn is a mandatory attribute of person (RFC 4519 §3.12); the local part is the best we know.
        entry.addAttribute("sn", listing.address().substring(0, Math.max(1, listing.address().lastIndexOf('@'))));
        List<byte[]> der = new ArrayList<>();
        for (X509Certificate c : listing.certificates()) {
            try {
                der.add(c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("a certificate the CA issued does not encode", e);
            }
        }
        entry.addAttribute(new Attribute(USER_CERTIFICATE, der.toArray(new byte[0][])));
        entry.addAttribute(new Attribute(USER_SMIME_CERTIFICATE, CertsOnly.der(listing.certificates())));
        return entry;
    }

    /**
     * The root DSE (RFC 4512 §5.1): what a client reads first to learn the naming context and
     * what the server supports: StartTLS where the listener starts without TLS, no SASL mechanism
     * (binds are simple, inside TLS).
     */
    Entry rootDse(boolean offerStartTls) {
        Entry entry = new Entry("");
        entry.addAttribute("objectClass", "top");
        entry.addAttribute("namingContexts", base.toString());
        entry.addAttribute("supportedLDAPVersion", "3");
        if (offerStartTls) entry.addAttribute("supportedExtension", LdapSession.START_TLS);
        entry.addAttribute("vendorName", "Castellan");
        return entry;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
