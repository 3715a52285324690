package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Key records as RFC 6376 §3.6.1 and RFC 8463 §4.2 define them, written and read. */
class DkimKeyRecordTest {

    @Test
    void writesWhatItReads() throws Exception {
        for (KeyPair pair : new KeyPair[] {DkimTestKeys.rsa2048(), DkimTestKeys.ed25519()}) {
            String text = DkimKeyRecord.format(pair.getPublic());
            DkimKeyRecord record = ((DkimKeyRecord.Valid) DkimKeyRecord.parse(text)).record();
            assertThat(record.key()).contains(pair.getPublic());
        }
        assertThat(DkimKeyRecord.format(DkimTestKeys.ed25519().getPublic())).matches("v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=");
    }

    @Test
    void readsTheRfc8463RecordsFlagsAndABarePkcs1Key() throws Exception {
        assertThat(((DkimKeyRecord.Valid) DkimKeyRecord.parse(DkimTestKeys.RFC8463_TEST)).record().bits()).isEqualTo(1024);
        DkimKeyRecord testing = ((DkimKeyRecord.Valid) DkimKeyRecord.parse(DkimTestKeys.RFC8463_BRISBANE + "; t=y:s")).record();
        assertThat(testing.testing()).isTrue();
        assertThat(testing.strict()).isTrue();
        // Some publish the PKCS#1 RSAPublicKey rather than the SubjectPublicKeyInfo: accepted, as dkimpy does.
        RSAPublicKey rsa = (RSAPublicKey) DkimTestKeys.rsa2048().getPublic();
        byte[] pkcs1 = new org.bouncycastle.asn1.pkcs.RSAPublicKey(rsa.getModulus(), rsa.getPublicExponent()).getEncoded();
        assertThat(DkimKeyRecord.parse("k=rsa; p=" + Base64.getEncoder().encodeToString(pkcs1)))
                .isInstanceOfSatisfying(DkimKeyRecord.Valid.class, v -> assertThat(v.record().key()).contains(rsa));
    }

    @Test
    void refusesWhatRfc6376Section6Point1Point2Refuses() {
        assertThat(DkimKeyRecord.parse("v=DKIM2; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("k=rsa; v=DKIM1; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class); // v= not first
        assertThat(DkimKeyRecord.parse("v=DKIM1; k=dsa; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("v=DKIM1; h=sha1; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("v=DKIM1; s=web; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("v=DKIM1; k=rsa")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("v=DKIM1; k=ed25519; p=AAAA")).isInstanceOf(DkimKeyRecord.Invalid.class); // not 32 octets
        assertThat(DkimKeyRecord.parse("v=DKIM1; k=rsa; p=!!!")).isInstanceOf(DkimKeyRecord.Invalid.class);
        assertThat(DkimKeyRecord.parse("v=DKIM1; p=")).isInstanceOfSatisfying(DkimKeyRecord.Valid.class,
                v -> assertThat(v.record().key()).isEmpty()); // revoked
    }

    /**
     * RFC 6376 §3.6.1's h=, s= and k= on a record whose key is good, so that each refusal is the
     * tag's own: h= must list sha256 among its algorithms, s= "email" or "*" among its services.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            h=sha256        | valid
            h=sha1:sha256   | valid
            h=sha1          | key record does not allow sha256
            s=email         | valid
            s=tlsrpt:*      | valid
            s=web           | key not for email
            k=dsa           | unknown key type k=dsa
            k=rsa           | valid
            """)
    void eachTagIsJudgedOnAGoodKey(String tag, String expected) throws Exception {
        String key = Base64.getEncoder().encodeToString(DkimTestKeys.rsa2048().getPublic().getEncoded());
        DkimKeyRecord.Parsed parsed = DkimKeyRecord.parse("v=DKIM1; " + tag + "; p=" + key);
        if (expected.equals("valid")) {
            assertThat(parsed).isInstanceOf(DkimKeyRecord.Valid.class);
        } else {
            assertThat(parsed).isEqualTo(new DkimKeyRecord.Invalid(expected));
        }
    }
}
