// Compiled against the storage layer's include view by the CTest test layer_views: the runtime
// (actors/) is above storage, so this include must not be found.
#include "actors/runtime.hpp"
