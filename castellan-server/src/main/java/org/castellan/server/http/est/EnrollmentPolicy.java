package org.castellan.server.http.est;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.CertificationRequest;

/**
 * Which certificate an authenticated enrollee gets for a request (docs/http.md, "Enrollment"):
 * a device certificate owned by themselves, named by the request's CN (or by their enrollment
 * token), or a user certificate for their own address and nothing else. A request naming another
 * address is refused, never quietly narrowed, so the person asking learns why. Pure.
 *
 * @param deviceValidity how long a device certificate issued here lasts ({@code [enroll] device-validity})
 * @param userValidity how long a user certificate issued here lasts ({@code [enroll] user-validity})
 */
public record EnrollmentPolicy(Duration deviceValidity, Duration userValidity) {

    public EnrollmentPolicy {
        Objects.requireNonNull(deviceValidity, "deviceValidity");
        Objects.requireNonNull(userValidity, "userValidity");
    }

    /** What to do with a request. */
    public sealed interface Decision {}

    /** @param name the device name, or the owner's address for a user certificate */
    public record Issue(CertificateKind kind, String name, EmailAddress owner, Duration validity) implements Decision {}

    /** @param reason for the client, naming what it asked for that it may not have */
    public record Refuse(HttpResponseStatus status, String reason) implements Decision {}

    /**
     * @param device the device an enrollment token was made for; empty: the request's CN names it
     */
    public Decision decide(CertificateKind kind, EmailAddress owner, Optional<String> device, CertificationRequest request) {
        Refuse names = namesProblem(kind, owner, request);
        if (names != null) return names;
        return switch (kind) {
            case USER -> new Issue(kind, owner.toString(), owner, userValidity);
            case DEVICE -> {
                Optional<String> cn = request.commonName();
                if (device.isPresent()) {
                    if (cn.isPresent() && !cn.get().equals(device.get())) {
                        yield new Refuse(HttpResponseStatus.FORBIDDEN, "this enrollment is for device " + device.get()
                                + "; the request's CN must be that name or absent");
                    }
                    yield new Issue(kind, device.get(), owner, deviceValidity);
                }
                if (cn.isEmpty()) {
                    yield new Refuse(HttpResponseStatus.BAD_REQUEST, "a device request names the device in its subject's CN");
                }
                yield new Issue(kind, cn.get(), owner, deviceValidity);
            }
            case SERVER -> new Refuse(HttpResponseStatus.FORBIDDEN, "server certificates are not issued by enrollment");
            case NODE -> new Refuse(HttpResponseStatus.FORBIDDEN, "node certificates are not issued by enrollment yet");
        };
    }

    /**
     * A renewal (RFC 7030 §4.2.2): the same kind, name and owner as the current certificate, the
     * request's subject naming the same as that certificate's.
     */
    public Decision renew(CertificateKind kind, String currentName, EmailAddress owner, CertificationRequest request) {
        Refuse names = namesProblem(kind, owner, request);
        if (names != null) return names;
        if (kind == CertificateKind.DEVICE && request.commonName().isPresent() && !request.commonName().get().equals(currentName)) {
            return new Refuse(HttpResponseStatus.BAD_REQUEST, "a renewal keeps the subject of the current certificate, CN="
                    + currentName);
        }
        return new Issue(kind, currentName, owner, kind == CertificateKind.USER ? userValidity : deviceValidity);
    }

    /**
     * Addresses anywhere in the request (subjectAltName rfc822Name, the subject's emailAddress, a
     * CN of a user request) must be the owner's; other alternative names have no place in these
     * certificates.
     */
    private static Refuse namesProblem(CertificateKind kind, EmailAddress owner, CertificationRequest request) {
        for (CertificationRequest.Name name : request.alternativeNames()) {
            if (!name.isAddress()) {
                return new Refuse(HttpResponseStatus.BAD_REQUEST, "only rfc822Name subjectAltNames are allowed here;"
                        + " device and user certificates carry no host names or URIs");
            }
            if (!isOwner(name.value(), owner)) return notYours(owner);
        }
        if (request.emailAttribute().isPresent() && !isOwner(request.emailAttribute().get(), owner)) return notYours(owner);
        if (kind == CertificateKind.USER && request.commonName().isPresent() && !isOwner(request.commonName().get(), owner)) {
            return notYours(owner);
        }
        return null;
    }

    private static Refuse notYours(EmailAddress owner) {
        return new Refuse(HttpResponseStatus.FORBIDDEN, "a certificate may name only your own address, " + owner);
    }

    private static boolean isOwner(String text, EmailAddress owner) {
        EmailAddress.Parsed parsed = EmailAddress.parse(text);
        return parsed.ok() && parsed.address().get().key().equals(owner.key());
    }
}
