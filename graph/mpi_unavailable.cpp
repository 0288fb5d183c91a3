// Without Open MPI at build time, the MPI functions exist and say how to get them.
#ifndef XGRAD_WITH_MPI
#include "graph/distributed.h"

namespace xgrad {

bool mpi_available() { return false; }

Communicator& mpi_world() {
  throw Error(
      "xgrad was built without MPI, so --distributed is not available (install libopenmpi-dev and "
      "openmpi-bin, then rebuild with the CMake option XGRAD_MPI on)");
}

}  // namespace xgrad
#endif
