#include "xparallel/xlaunch.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "xparallel/xpython_runtime.hpp"

namespace xparallel
{
    namespace
    {
        // Binds no name in __main__ (the user's namespace). The kernel's packages go first on
        // sys.path, as in the embedded kernel, in place of the working directory that `-c` puts
        // there.
        constexpr const char* launcher =
            "(lambda sys, site: (sys.path[:1] == [''] and sys.path.pop(0),"
            " site in sys.path or sys.path.insert(0, site),"
            " sys.exit(__import__('_xparallel_kernel').serve())))"
            "(__import__('sys'), __import__('sys').argv[1])";
    } // namespace

    void run_in_python_when_installed(int argc, char* argv[])
    {
#ifdef XPARALLEL_KERNEL_EXTENSION_FILE
        const char* embedded = std::getenv("XPARALLEL_KERNEL_EMBEDDED");
        if (embedded != nullptr && std::string(embedded) == "1")
        {
            return;
        }
        const std::filesystem::path site = installed_python_packages();
        std::error_code error;
        if (site.empty() || !std::filesystem::exists(site / XPARALLEL_KERNEL_EXTENSION_FILE, error))
        {
            return;
        }
        const std::string python = python_executable(argv[0]).string();
        const std::string site_dir = site.string();
        std::vector<char*> args{const_cast<char*>(python.c_str()), const_cast<char*>("-c"),
                                const_cast<char*>(launcher), const_cast<char*>(site_dir.c_str())};
        args.insert(args.end(), argv, argv + argc);
        args.push_back(nullptr);
        ::execv(python.c_str(), args.data());
        // exec failed (no such Python any more): the embedded route still works.
#else
        (void)argc;
        (void)argv;
#endif
    }
} // namespace xparallel
