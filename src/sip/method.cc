#include "sipshard/sip/method.h"

#include <array>

namespace sipshard::sip {
namespace {

constexpr std::array<std::string_view, 15> kNames = {
    "",          "INVITE", "ACK",  "BYE",   "CANCEL",  "OPTIONS", "REGISTER", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};

}  // namespace

Method ParseMethod(std::string_view token) {
  // Dispatch on length first: one compare per candidate at most.
  switch (token.size()) {
    case 3:
      if (token == "ACK") return Method::kAck;
      if (token == "BYE") return Method::kBye;
      break;
    case 4:
      if (token == "INFO") return Method::kInfo;
      break;
    case 5:
      if (token == "PRACK") return Method::kPrack;
      if (token == "REFER") return Method::kRefer;
      break;
    case 6:
      if (token == "INVITE") return Method::kInvite;
      if (token == "CANCEL") return Method::kCancel;
      if (token == "NOTIFY") return Method::kNotify;
      if (token == "UPDATE") return Method::kUpdate;
      break;
    case 7:
      if (token == "OPTIONS") return Method::kOptions;
      if (token == "PUBLISH") return Method::kPublish;
      if (token == "MESSAGE") return Method::kMessage;
      break;
    case 8:
      if (token == "REGISTER") return Method::kRegister;
      break;
    case 9:
      if (token == "SUBSCRIBE") return Method::kSubscribe;
      break;
    default:
      break;
  }
  return Method::kOther;
}

std::string_view MethodName(Method method) { return kNames[static_cast<size_t>(method)]; }

}  // namespace sipshard::sip
