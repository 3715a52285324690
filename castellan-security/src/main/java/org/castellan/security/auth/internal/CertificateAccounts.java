package org.castellan.security.auth.internal;

import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.castellan.protocol.mail.EmailAddress;

/**
 * The addresses a verified client certificate names, in the order an account is looked for:
 * subjectAltName rfc822Name entries (RFC 5280 §4.2.1.6, where an e-mail identity belongs), then
 * the legacy subject emailAddress attribute (RFC 5280 §4.1.2.6 still allows it), then a subject
 * common name that is an address. Values that are not addresses are skipped.
 */
public final class CertificateAccounts {

    /** RFC 5280 §4.2.1.6: GeneralName tag 1 is rfc822Name. */
    private static final int RFC822_NAME = 1;

    private CertificateAccounts() {}

    public static List<String> candidates(X509Certificate certificate) {
        Set<String> names = new LinkedHashSet<>();
        try {
            Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> name : alternatives) {
                    if (name.size() >= 2 && Integer.valueOf(RFC822_NAME).equals(name.get(0))
                            && name.get(1) instanceof String address) {
                        names.add(address);
                    }
                }
            }
        } catch (CertificateParsingException unreadable) {
            // A certificate the TLS layer verified but whose extension we cannot read names nothing here.
        }
        try {
            X500Name subject = new JcaX509CertificateHolder(certificate).getSubject();
            addAttributes(names, subject, BCStyle.EmailAddress);
            addAttributes(names, subject, BCStyle.CN);
        } catch (CertificateEncodingException unreadable) {
            // As above: no subject names.
        }
        List<String> addresses = new ArrayList<>();
        for (String name : names) {
            if (EmailAddress.parse(name).ok()) addresses.add(name);
        }
        return addresses;
    }

    private static void addAttributes(Set<String> names, X500Name subject, ASN1ObjectIdentifier type) {
        for (RDN rdn : subject.getRDNs(type)) {
            names.add(IETFUtils.valueToString(rdn.getFirst().getValue()));
        }
    }
}
