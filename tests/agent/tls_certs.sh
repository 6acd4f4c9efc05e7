#!/bin/bash
# Makes the TLS fixtures of tls_test and the e2e suite in DIR with openssl:
#   ca.pem ca.key        a CA ("kbits-test-ca")
#   other-ca.pem         an unrelated CA (a bundle that must not verify)
#   server.pem/.key      127.0.0.1 (SAN IP:127.0.0.1), signed by the CA
#   expired.pem          the same key, validity ended a day before it began
#   client.pem/.key      a client certificate signed by the CA
#   server.pub, other.pub  the public keys (PEM) of the server and of another key
#   server.pin, other.pin  their sha256// pins as libcurl computes them
# EC P-256 keys: quick to make under a loaded TCG guest.
set -e
dir=$1
[ -n "$dir" ] && mkdir -p "$dir" && cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
pin() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -binary | base64; }

key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 30 -subj /CN=kbits-test-ca 2>/dev/null
key other-ca.key
openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 30 -subj /CN=kbits-other-ca 2>/dev/null

key server.key
openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
	-days 30 -extfile server.ext 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out expired.pem \
	-days -1 -extfile server.ext 2>/dev/null

key client.key
openssl req -new -key client.key -out client.csr -subj /CN=kbits-client 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
	-days 30 -extfile client.ext 2>/dev/null

openssl pkey -in server.key -pubout -out server.pub
openssl pkey -in other-ca.key -pubout -out other.pub
echo "sha256//$(pin server.pub)" >server.pin
echo "sha256//$(pin other.pub)" >other.pin
chmod 0644 ./*.pem ./*.pub ./*.pin ./*.key
