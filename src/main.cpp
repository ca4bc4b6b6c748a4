#include "cli/cli.hpp"

int main(int argc, char** argv)
{
  return smem::cli::main(argc, argv);
}
