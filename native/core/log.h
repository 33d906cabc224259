// Logging: the core never prints; messages go to the callback set with scm_set_log_callback.
#pragma once
#include <string>

namespace scm {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2 };

void log(LogLevel level, const std::string& message);

}  // namespace scm
