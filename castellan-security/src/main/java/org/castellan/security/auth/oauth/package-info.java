/**
 * OAuth 2.0 bearer tokens for OAUTHBEARER (RFC 7628) and XOAUTH2: the configured issuers and the
 * verification of their JWT access tokens (RFC 9068) with Nimbus JOSE+JWT.
 */
package org.castellan.security.auth.oauth;
