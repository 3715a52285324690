package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.castellan.store.objects.ObjectStoreSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key files of {@code [store.object-store]}: read at start, the secret one only if no one else may read it. */
class ObjectStorageTest {

    @TempDir
    Path dir;

    private ObjectStorage storage() throws IOException {
        Path access = Files.writeString(dir.resolve("access"), "AKIAEXAMPLE\n");
        Path secret = Files.writeString(dir.resolve("secret"), "wJalrXUtnFEMI/K7MDENG\nignored\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        return new ObjectStorage(Optional.empty(), "eu-west-1", "mail", access, secret, false, Optional.of("AES256"),
                Optional.empty(), 4096);
    }

    @Test
    void theKeysAreTheFilesFirstLines() throws IOException {
        ObjectStoreSettings settings = storage().settings();
        assertThat(settings.accessKey()).isEqualTo("AKIAEXAMPLE");
        assertThat(settings.secretKey()).isEqualTo("wJalrXUtnFEMI/K7MDENG");
        assertThat(settings.toString()).doesNotContain("wJalr");
        assertThat(settings.sse()).contains("AES256");
        assertThat(settings.inlineMax()).isEqualTo(4096);
    }

    @Test
    void aSecretKeyFileOthersMayReadIsRefused() throws IOException {
        ObjectStorage storage = storage();
        Files.setPosixFilePermissions(storage.secretKeyFile(), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(storage::settings).isInstanceOf(IOException.class)
                .hasMessageContaining(storage.secretKeyFile().toString()).hasMessageContaining("chmod 600");
    }

    @Test
    void anEmptyKeyFileIsRefused() throws IOException {
        ObjectStorage storage = storage();
        Files.writeString(storage.accessKeyFile(), "\n");
        assertThatThrownBy(storage::settings).isInstanceOf(IOException.class).hasMessageContaining("is empty");
    }
}
