package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code [store]} table: the embedded default, a postgres store's connection, and the operator's mistakes with their lines. */
class StoreConfigTest {

    @TempDir
    Path data;

    private CastellanConfig parse(String store) throws ConfigException {
        return CastellanConfig.parse("""
                [server]
                hostname = "mail.example.org"
                data-dir = "%s"

                """.formatted(data) + store, data.resolve("castellan.toml"));
    }

    private Path secret(String name, String permissions) throws IOException {
        Path file = data.resolve(name);
        Files.writeString(file, "s3cret\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }

    @Test
    void withoutTheTableTheStoreIsEmbedded() throws ConfigException {
        Store store = parse("").store();
        assertThat(store.kind()).isEqualTo(StoreKind.EMBEDDED);
        assertThat(store.postgres()).isEmpty();
    }

    @Test
    void aPostgresUrlIsConvertedToJdbcAndThePoolHasADefault() throws Exception {
        secret("pg.pass", "rw-------");
        Store store = parse("""
                [store]
                kind = "postgres"
                url = "postgres://db.example.org:5433/castellan?sslmode=verify-full"
                user = "castellan"
                password-file = "pg.pass"
                """).store();
        assertThat(store.postgres()).contains(new Store.Postgres(
                "jdbc:postgresql://db.example.org:5433/castellan?sslmode=verify-full", "castellan",
                Optional.of(data.resolve("pg.pass")), Store.DEFAULT_POOL_SIZE));
    }

    @Test
    void aJdbcUrlIsKeptAsWrittenWithThePoolSizeGiven() throws Exception {
        Store store = parse("""
                [store]
                kind = "postgres"
                url = "jdbc:postgresql://db1.example.org,db2.example.org/castellan"
                user = "mail"
                pool-size = 25
                """).store();
        assertThat(store.postgres()).contains(new Store.Postgres("jdbc:postgresql://db1.example.org,db2.example.org/castellan",
                "mail", Optional.empty(), 25));
    }

    @Test
    void postgresKeysWithTheEmbeddedStoreAreRefusedByLine() {
        assertThatThrownBy(() -> parse("""
                [store]
                url = "postgres://db.example.org/castellan"
                pool-size = 5
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:6: store.url: url applies to kind = \"postgres\" only")
                .hasMessageContaining("castellan.toml:7: store.pool-size: pool-size applies to kind = \"postgres\" only");
    }

    @Test
    void aPostgresStoreNeedsAUrlWithoutCredentialsAndAUser() {
        assertThatThrownBy(() -> parse("""
                [store]
                kind = "postgres"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:5: store.url: kind = \"postgres\" needs the database")
                .hasMessageContaining("castellan.toml:5: store.user: kind = \"postgres\" needs the role");
        assertThatThrownBy(() -> parse("""
                [store]
                kind = "postgres"
                url = "postgres://castellan:hunter2@db.example.org/castellan"
                user = "castellan"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:7: store.url: expected \"jdbc:postgresql://host[:port]/database\"");
        assertThatThrownBy(() -> parse("""
                [store]
                kind = "postgres"
                url = "mysql://db.example.org/castellan"
                user = "castellan"
                pool-size = 0
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:7: store.url: expected")
                .hasMessageContaining("castellan.toml:9: store.pool-size:");
    }

    @Test
    void aPasswordFileOthersMayReadOrThatIsMissingIsRefused() throws Exception {
        secret("open.pass", "rw-r--r--");
        assertThatThrownBy(() -> parse("""
                [store]
                kind = "postgres"
                url = "postgres://db.example.org/castellan"
                user = "castellan"
                password-file = "open.pass"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:9: store.password-file: " + data.resolve("open.pass")
                        + " holds a password but other users may access it (rw-r--r--); chmod 600");
        assertThatThrownBy(() -> parse("""
                [store]
                kind = "postgres"
                url = "postgres://db.example.org/castellan"
                user = "castellan"
                password-file = "missing.pass"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:9: store.password-file: " + data.resolve("missing.pass")
                        + " does not exist or is not a file");
    }
}
