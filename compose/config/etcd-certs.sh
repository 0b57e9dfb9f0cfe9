#!/bin/sh
# One-shot: the compose stack's etcd speaks TLS only, with certificates of its own CA, made here on
# the first start and kept in the etcd-certs volume (etcd's server certificate for "etcd", and the
# client certificate the managers present; etcd asks for one).
set -eu
cd /certs
if [ -f ca.crt ]; then
  echo "etcd certificates exist"
  exit 0
fi
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=Ops Scaffold/CN=compose etcd CA" -out ca.crt
openssl ecparam -name prime256v1 -genkey -noout -out etcd.key
openssl req -new -key etcd.key -subj "/O=Ops Scaffold/CN=etcd" -out etcd.csr
printf 'subjectAltName=DNS:etcd,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > etcd.ext
openssl x509 -req -in etcd.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile etcd.ext -out etcd.crt
openssl ecparam -name prime256v1 -genkey -noout -out client.key.ec
# The managers read keys in PKCS#8.
openssl pkcs8 -topk8 -nocrypt -in client.key.ec -out client.key
openssl req -new -key client.key -subj "/O=Ops Scaffold/CN=manager" -out client.csr
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile client.ext -out client.crt
rm -f ./*.csr ./*.ext client.key.ec ca.srl
# etcd runs as root in its image; the managers as root in theirs. Keys readable by the owner only.
chmod 600 ca.key etcd.key client.key
echo "etcd certificates made"
