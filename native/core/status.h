// Status codes: defined once, in the public C header.
#pragma once
#include "../include/scm.h"
