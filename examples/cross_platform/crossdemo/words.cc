#include "words.h"

#include <sstream>

namespace words {

std::vector<std::string> split(const std::string &text) {
  std::istringstream stream(text);
  std::vector<std::string> result;
  for (std::string word; stream >> word;) result.push_back(word);
  if (result.empty()) throw Error("no words in \"" + text + "\"");
  return result;
}

void fail(const std::string &message) { throw Error(message); }

}  // namespace words
