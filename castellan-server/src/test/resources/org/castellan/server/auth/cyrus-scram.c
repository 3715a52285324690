/*
 * IMAP AUTHENTICATE through Cyrus SASL (libsasl2) over TLS with OpenSSL, handing Cyrus the
 * channel binding of this very connection, because neither mutt nor mbsync sets
 * SASL_CHANNEL_BINDING: tls-server-end-point (RFC 5929 §4) on TLS 1.2, or tls-exporter (RFC 9266,
 * OpenSSL's SSL_export_keying_material) on TLS 1.3.
 *
 *   cyrus-scram HOST PORT CAFILE MECHLIST USER PASSWORD BINDING
 *
 * MECHLIST is what Cyrus is told the server offers (it picks from it). BINDING is one of
 *   none      no channel binding: Cyrus sends "n"
 *   critical  this connection's binding, mandatory: Cyrus uses -PLUS with "p=tls-server-end-point"
 *   tampered  as critical, with one bit of the hash flipped (what a relay would present)
 *   exporter  TLS 1.3 and its tls-exporter binding, mandatory: "p=tls-exporter"
 *   exporter-tampered  as exporter, with one bit flipped
 *
 * Prints the server's final line; exits 0 on "a1 OK", 1 on a refusal, 2 on a local error.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static const char *user;
static const char *password;
static sasl_secret_t *secret;

static int get_simple(void *context, int id, const char **result, unsigned *len) {
    (void) context;
    if (id == SASL_CB_AUTHNAME) *result = user;
    else if (id == SASL_CB_USER) *result = "";  /* no authorization identity */
    else return SASL_BADPARAM;
    if (len) *len = strlen(*result);
    return SASL_OK;
}

static int get_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret) {
    (void) conn; (void) context; (void) id;
    *psecret = secret;
    return SASL_OK;
}

static int fail(const char *what) {
    fprintf(stderr, "cyrus-scram: %s\n", what);
    ERR_print_errors_fp(stderr);
    return 2;
}

static int read_line(SSL *ssl, char *buf, size_t size) {
    size_t n = 0;
    while (n + 1 < size) {
        char c;
        if (SSL_read(ssl, &c, 1) != 1) return -1;
        if (c == '\n') break;
        if (c != '\r') buf[n++] = c;
    }
    buf[n] = '\0';
    return (int) n;
}

static int send_line(SSL *ssl, const char *text) {
    size_t len = strlen(text);
    return SSL_write(ssl, text, (int) len) == (int) len && SSL_write(ssl, "\r\n", 2) == 2 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 8) return fail("usage: cyrus-scram HOST PORT CAFILE MECHLIST USER PASSWORD none|critical|tampered|exporter|exporter-tampered");
    const char *host = argv[1], *port = argv[2], *cafile = argv[3], *mechlist = argv[4], *binding = argv[7];
    user = argv[5];
    password = argv[6];
    secret = malloc(sizeof(sasl_secret_t) + strlen(password));
    secret->len = strlen(password);
    memcpy(secret->data, password, secret->len);

    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) return fail("cannot resolve the host");
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) return fail("cannot connect");

    int exporter = strncmp(binding, "exporter", 8) == 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    /* RFC 9266 §3: tls-exporter is TLS 1.3's binding; tls-server-end-point is used on TLS 1.2. */
    int version = exporter ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) return fail("cannot read the CA file");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) return fail("TLS handshake failed");

    unsigned char cb[EVP_MAX_MD_SIZE];
    unsigned int cb_len = 0;
    if (exporter) {
        /* RFC 9266 §2: TLS-Exporter("EXPORTER-Channel-Binding", "", 32). */
        static const char label[] = "EXPORTER-Channel-Binding";
        cb_len = 32;
        if (SSL_export_keying_material(ssl, cb, cb_len, label, strlen(label), NULL, 0, 0) != 1) return fail("cannot export");
    } else {
        /* RFC 5929 §4.1: SHA-256 of the server certificate (its signature uses SHA-256). */
        X509 *server = SSL_get1_peer_certificate(ssl);
        if (!server || X509_digest(server, EVP_sha256(), cb, &cb_len) != 1) return fail("cannot hash the server certificate");
    }
    if (strstr(binding, "tampered") != NULL) cb[0] ^= 1;

    static sasl_callback_t callbacks[] = {
        {SASL_CB_AUTHNAME, (int (*)(void)) get_simple, NULL},
        {SASL_CB_USER, (int (*)(void)) get_simple, NULL},
        {SASL_CB_PASS, (int (*)(void)) get_secret, NULL},
        {SASL_CB_LIST_END, NULL, NULL}};
    if (sasl_client_init(NULL) != SASL_OK) return fail("sasl_client_init failed");
    sasl_conn_t *conn;
    if (sasl_client_new("imap", "localhost", NULL, NULL, callbacks, 0, &conn) != SASL_OK) return fail("sasl_client_new failed");
    sasl_ssf_t ssf = 128;  /* TLS protects the exchange: no SASL security layer */
    sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf);
    sasl_channel_binding_t channel = {exporter ? "tls-exporter" : "tls-server-end-point", 1, cb_len, cb};
    if (strcmp(binding, "none") != 0 && sasl_setprop(conn, SASL_CHANNEL_BINDING, &channel) != SASL_OK) {
        return fail("sasl_setprop(SASL_CHANNEL_BINDING) failed");
    }

    char line[LINE_MAX_BYTES], encoded[LINE_MAX_BYTES], decoded[LINE_MAX_BYTES];
    if (read_line(ssl, line, sizeof line) < 0) return fail("no greeting");
    const char *out;
    unsigned out_len;
    const char *mech;
    int rc = sasl_client_start(conn, mechlist, NULL, &out, &out_len, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        fprintf(stderr, "cyrus-scram: sasl_client_start: %s\n", sasl_errdetail(conn));
        return 2;
    }

    /*
     * Cyrus 2.1.28 names the mechanism without "-PLUS" even when it binds the channel; its GS2
     * header tells: "p=" is only valid in the -PLUS variant (RFC 5802 §6), so name that one.
     */
    char mechanism[64];
    snprintf(mechanism, sizeof mechanism, "%s%s", mech, out_len > 2 && strncmp(out, "p=", 2) == 0 ? "-PLUS" : "");
    /* The GS2 header (RFC 5802 §7) says how Cyrus treats channel binding; it holds no secret. */
    const char *second_comma = out_len ? memchr(out, ',', out_len) : NULL;
    if (second_comma) second_comma = memchr(second_comma + 1, ',', out_len - (second_comma + 1 - out));
    if (second_comma) fprintf(stderr, "cyrus-scram: gs2 header %.*s\n", (int) (second_comma + 1 - out), out);
    fprintf(stderr, "cyrus-scram: mechanism %s\n", mechanism);
    unsigned enc_len;
    /* RFC 4959: SASL-IR, the client-first message on the command line. */
    if (sasl_encode64(out, out_len, encoded, sizeof encoded, &enc_len) != SASL_OK) return fail("base64");
    snprintf(line, sizeof line, "a1 AUTHENTICATE %s %s", mechanism, out_len ? encoded : "=");
    if (send_line(ssl, line) != 0) return fail("write");
    for (;;) {
        if (read_line(ssl, line, sizeof line) < 0) return fail("connection closed");
        if (line[0] == '*') continue;
        if (line[0] != '+') break;
        unsigned dec_len = 0;
        const char *challenge = line[1] == ' ' ? line + 2 : line + 1;
        if (sasl_decode64(challenge, strlen(challenge), decoded, sizeof decoded, &dec_len) != SASL_OK) return fail("bad base64 from the server");
        rc = sasl_client_step(conn, decoded, dec_len, NULL, &out, &out_len);
        if (rc != SASL_OK && rc != SASL_CONTINUE) {
            /* Cyrus refuses a server-final it cannot verify: say so, and cancel. */
            fprintf(stderr, "cyrus-scram: sasl_client_step: %s\n", sasl_errdetail(conn));
            send_line(ssl, "*");
            continue;
        }
        if (sasl_encode64(out ? out : "", out_len, encoded, sizeof encoded, &enc_len) != SASL_OK) return fail("base64");
        if (send_line(ssl, out_len ? encoded : "") != 0) return fail("write");
    }
    printf("%s\n", line);
    SSL_shutdown(ssl);
    return strncmp(line, "a1 OK", 5) == 0 ? 0 : 1;
}
