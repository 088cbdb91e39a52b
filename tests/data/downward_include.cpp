// Compiled against the storage layer's include view by the CTest test layer_views_control: the
// storage layer's own headers and those below it must be found.
#include "storage/job_store.hpp"
