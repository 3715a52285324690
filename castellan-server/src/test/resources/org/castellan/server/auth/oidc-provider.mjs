// An OpenID Connect provider (node oidc-provider) for OAuthBearerTest, on 127.0.0.1 over HTTPS.
//   node oidc-provider.mjs MODULES PORT CERT KEY JWKS
// MODULES is the npm prefix oidc-provider is installed in, PORT the port (the issuer is
// https://localhost:PORT), CERT and KEY the TLS certificate chain and key (PEM), JWKS a JSON
// file {"keys": [private JWK]} whose key signs the access tokens. Clients, with client_secret
// "secret" and the client_credentials grant: "alice" and "nobody" (the email claim of their tokens
// is CLIENT@example.org). Resources:
// https://mail.test (this server; scope "mail") and https://other.test (another audience).
// Prints "listening" once it serves.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { pathToFileURL } from 'node:url';

const [modules, port, cert, key, jwksFile] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(`${modules}/node_modules/oidc-provider/lib/index.js`).href);

const resources = ['https://mail.test', 'https://other.test'];
const client = (id) => ({
  client_id: id, client_secret: 'secret', grant_types: ['client_credentials'],
  redirect_uris: [], response_types: [], scope: 'mail',
});
const issuer = `https://localhost:${port}`;
const provider = new Provider(issuer, {
  clients: [client('alice'), client('nobody')],
  jwks: JSON.parse(readFileSync(jwksFile, 'utf8')),
  scopes: ['mail'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://mail.test',
      getResourceServerInfo: (ctx, resource, c) => {
        if (!resources.includes(resource)) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'mail',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => ({ email: `${token.clientId}@example.org` }),
});
https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, provider.callback())
  .listen(Number(port), '127.0.0.1', () => console.log('listening'));
