// Node key file.
#include "common/node_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/crypto.hpp"

namespace beacon {

std::string node_key::public_key_base64() const {
  return crypto::base64_encode(public_key);
}

node_key node_key_from_secret(const std::string& secret_key) {
  if (secret_key.size() != 64) throw std::runtime_error("a node key is 64 bytes");
  node_key k;
  k.secret_key = secret_key;
  k.public_key = secret_key.substr(32);  // libsodium keeps the public key in the second half
  k.key_id = crypto::sha256_hex(k.public_key).substr(0, 16);
  return k;
}

namespace {

node_key read_key_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    throw std::runtime_error("node key " + file.string() +
                             " is readable by other users; chmod 600 it");
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  auto line = text.str();
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  auto secret = crypto::base64_decode(line);
  if (!in || !secret || secret->size() != 64)
    throw std::runtime_error("node key " + file.string() +
                             " is not the base64 of a 64-byte Ed25519 secret key");
  return node_key_from_secret(*secret);
}

}  // namespace

node_key load_or_create_node_key(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  if (fs::exists(file)) return read_key_file(file);
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  // Written completely to a private temporary file, then linked into place: a node starting at
  // the same moment either wins the link or reads the finished file.
  auto pair = crypto::ed25519_generate();
  auto text = crypto::base64_encode(pair.secret_key) + "\n";
  auto tmp = file;
  tmp +=
      ".tmp." + std::to_string(::getpid()) + "." + crypto::sha256_hex(pair.public_key).substr(0, 8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("cannot create node key " + tmp.string());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  bool linked = ok && ::link(tmp.c_str(), file.c_str()) == 0;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!ok) throw std::runtime_error("cannot write node key " + tmp.string());
  if (!linked) {
    if (link_errno == EEXIST) return read_key_file(file);
    throw std::runtime_error("cannot create node key " + file.string());
  }
  return node_key_from_secret(pair.secret_key);
}

}  // namespace beacon
