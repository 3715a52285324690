package org.castellan.security.mailauth;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Verifies the DKIM signatures of a message (RFC 6376 §6; RFC 8463 for Ed25519; RFC 8301 for
 * what is refused). Every canonicalization is accepted; rsa-sha256 and ed25519-sha256 are, rsa-sha1
 * is not (RFC 8301 §3.1), nor RSA keys under {@link #MIN_RSA_BITS} bits (RFC 8301 §3.2).
 *
 * <p>TRUSTS nothing in the message. EXPOSES one DNS TXT query per signature, to the
 * {@link DnsLookup} given, for at most {@link #MAX_SIGNATURES} signatures, so a message cannot make
 * the verifier query without bound. The body is streamed once through one hasher per distinct
 * body canonicalization and l= among the signatures, so a message of any size is verified
 * without a copy of it in memory.
 *
 * <p>Pure given its {@link DnsLookup} and clock: bad input is a result, never an exception; an
 * {@link IOException} comes only from reading the message.
 */
public final class DkimVerifier {

    /**
     * Signatures checked per message, topmost first; the rest are ignored (RFC 6376 §6.1 lets a
     * verifier limit them, §8.4 names the cost). Five covers dual-signed mail through two signing
     * relays; OpenDKIM and rspamd use limits of the same order.
     */
    public static final int MAX_SIGNATURES = 5;
    /** RFC 8301 §3.2: verifiers MUST verify RSA keys from 1024 bits on, and need not accept smaller ones. */
    public static final int MIN_RSA_BITS = 1024;

    private final DnsLookup dns;
    private final Clock clock;

    public DkimVerifier(DnsLookup dns) {
        this(dns, Clock.systemUTC());
    }

    /** @param clock for x= (expiry) */
    public DkimVerifier(DnsLookup dns, Clock clock) {
        this.dns = dns;
        this.clock = clock;
    }

    /** {@link #verify(InputStream)} of a message in memory. */
    public List<DkimResult> verify(byte[] message) {
        try {
            return verify(new ByteArrayInputStream(message));
        } catch (IOException e) {
            throw new UncheckedIOException("reading from memory", e);
        }
    }

    /**
     * One result per DKIM-Signature field checked, topmost first; empty when the message has none
     * ({@code dkim=none}). A header section over 1 MiB is a single PERMERROR result.
     *
     * @throws IOException if reading the message fails
     */
    public List<DkimResult> verify(InputStream message) throws IOException {
        InputStream in = new BufferedInputStream(message);
        Optional<DkimHeaderSection> read = DkimHeaderSection.read(in);
        if (read.isEmpty()) {
            return List.of(new DkimResult(DkimResult.Status.PERMERROR, "", "", "", Optional.empty(),
                    "header section over " + DkimHeaderSection.MAX_HEADER_SECTION + " octets", OptionalLong.empty(), 0, false, ""));
        }
        DkimHeaderSection header = read.get();
        List<DkimHeaderSection.Field> fields = header.named("DKIM-Signature");
        List<DkimSignature.Parsed> checks = new ArrayList<>();
        Map<String, DkimBodyHasher> hashers = new LinkedHashMap<>();
        for (DkimHeaderSection.Field field : fields.subList(0, Math.min(fields.size(), MAX_SIGNATURES))) {
            DkimSignature.Parsed parsed = DkimSignature.parse(field.text(), clock.instant());
            checks.add(parsed);
            if (parsed instanceof DkimSignature.Ok ok) {
                hashers.computeIfAbsent(hasherKey(ok.signature()), k -> new DkimBodyHasher(
                        ok.signature().bodyCanonicalization(), ok.signature().bodyLength().orElse(-1)));
            }
        }
        if (!hashers.isEmpty()) {
            byte[] chunk = new byte[8192];
            for (int n; (n = in.read(chunk)) > 0; ) {
                for (DkimBodyHasher hasher : hashers.values()) hasher.update(chunk, 0, n);
            }
        }
        Map<String, PublicKeyAnswer> keys = new HashMap<>();
        List<DkimResult> results = new ArrayList<>();
        for (DkimSignature.Parsed check : checks) {
            results.add(switch (check) {
                case DkimSignature.Early early -> early.result();
                case DkimSignature.Ok ok -> check(ok.signature(), header, hashers.get(hasherKey(ok.signature())),
                        keys.computeIfAbsent(ok.signature().keyName(), this::key));
            });
        }
        return List.copyOf(results);
    }

    private static String hasherKey(DkimSignature s) {
        return s.bodyCanonicalization() + "/" + s.bodyLength().orElse(-1);
    }

    private sealed interface PublicKeyAnswer {
    }

    private record KeyFound(DkimKeyRecord record) implements PublicKeyAnswer {
    }

    private record KeyError(DkimResult.Status status, String reason) implements PublicKeyAnswer {
    }

    /** RFC 6376 §6.1.2: the key record, or the error that ends the check. */
    private PublicKeyAnswer key(String name) {
        return switch (dns.txt(name)) {
            case DnsLookup.Failed<String> failed -> new KeyError(DkimResult.Status.TEMPERROR, "key lookup failed: " + failed.reason());
            case DnsLookup.NotFound<String> none -> new KeyError(DkimResult.Status.PERMERROR, "no key record at " + name);
            case DnsLookup.Found<String> found -> firstUsable(name, found.values());
        };
    }

    /** RFC 6376 §3.6.2.2: of several TXT records, the first that is a key record. */
    private static PublicKeyAnswer firstUsable(String name, List<String> texts) {
        String problem = "no key record at " + name;
        for (String text : texts) {
            switch (DkimKeyRecord.parse(text)) {
                case DkimKeyRecord.Valid valid -> {
                    return new KeyFound(valid.record());
                }
                case DkimKeyRecord.Invalid invalid -> problem = invalid.reason();
            }
        }
        return new KeyError(DkimResult.Status.PERMERROR, problem);
    }

    private static DkimResult check(DkimSignature signature, DkimHeaderSection header, DkimBodyHasher body,
                                    PublicKeyAnswer answer) {
        byte[] bodyHash = body.finish();
        long length = body.length();
        if (answer instanceof KeyError error) return signature.result(error.status(), error.reason(), length, false);
        DkimKeyRecord record = ((KeyFound) answer).record();
        boolean testing = record.testing();
        if (record.key().isEmpty()) return signature.result(DkimResult.Status.PERMERROR, "key revoked", length, testing);
        if (record.algorithm() != signature.algorithm()) {
            return signature.result(DkimResult.Status.PERMERROR, "key type " + record.algorithm().keyType()
                    + " does not match a=" + signature.algorithm().tag(), length, testing);
        }
        if (record.algorithm() == DkimAlgorithm.RSA_SHA256 && record.bits() < MIN_RSA_BITS) {
            return signature.result(DkimResult.Status.PERMERROR, "key of " + record.bits() + " bits is too small", length, testing);
        }
        if (record.strict() && !signature.identity().toLowerCase(Locale.ROOT)
                .endsWith("@" + signature.domain().toLowerCase(Locale.ROOT))) {
            return signature.result(DkimResult.Status.PERMERROR, "key record requires i= in d= itself (t=s)", length, testing);
        }
        // RFC 6376 §3.5 l=: a count larger than the body cannot be honoured.
        if (signature.bodyLength().isPresent() && signature.bodyLength().getAsLong() > length) {
            return signature.result(DkimResult.Status.FAIL, "l= exceeds the body", length, testing);
        }
        if (!MessageDigest.isEqual(bodyHash, signature.bodyHash())) {
            return signature.result(DkimResult.Status.FAIL, "body hash did not verify", length, testing);
        }
        String data = signedData(header, signature.signedFields(), signature.headerCanonicalization(),
                DkimTags.withoutSignature(signature.field()));
        boolean valid = verify(signature.algorithm(), record.key().get(), data.getBytes(StandardCharsets.ISO_8859_1),
                signature.signature());
        return valid ? signature.result(DkimResult.Status.PASS, "", length, testing)
                : signature.result(DkimResult.Status.FAIL, "signature did not verify", length, testing);
    }

    private static boolean verify(DkimAlgorithm algorithm, PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature verifier;
            if (algorithm == DkimAlgorithm.RSA_SHA256) {
                verifier = Signature.getInstance("SHA256withRSA");
                verifier.initVerify(key);
                verifier.update(data);
            } else {
                verifier = Signature.getInstance("Ed25519"); // RFC 8463 §3
                verifier.initVerify(key);
                verifier.update(MessageDigest.getInstance("SHA-256").digest(data));
            }
            return verifier.verify(signature);
        } catch (GeneralSecurityException malformed) {
            return false; // a signature of the wrong length or encoding does not verify
        }
    }

    /**
     * The data the signature covers (RFC 6376 §3.7, §5.4.2): each field named in h=, taken from
     * the bottom up for repeated names and contributing nothing once they run out, canonicalized;
     * then the DKIM-Signature field itself (b= empty), canonicalized, without its final CRLF.
     */
    static String signedData(DkimHeaderSection header, List<String> signedFields, DkimCanonicalization canonicalization,
                             String signatureField) {
        // One pass to index the fields by name: h= may name thousands, each looked up once.
        Map<String, List<DkimHeaderSection.Field>> byName = new HashMap<>();
        for (DkimHeaderSection.Field field : header.fields()) {
            byName.computeIfAbsent(field.name().strip().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(field);
        }
        StringBuilder data = new StringBuilder();
        Map<String, Integer> used = new HashMap<>();
        for (String name : signedFields) {
            String key = name.toLowerCase(Locale.ROOT);
            List<DkimHeaderSection.Field> instances = byName.getOrDefault(key, List.of());
            int taken = used.merge(key, 1, Integer::sum);
            if (taken <= instances.size()) {
                data.append(canonicalization.header(instances.get(instances.size() - taken).text()));
            }
        }
        String canonical = canonicalization.header(signatureField);
        return data.append(canonical, 0, canonical.length() - 2).toString();
    }
}
