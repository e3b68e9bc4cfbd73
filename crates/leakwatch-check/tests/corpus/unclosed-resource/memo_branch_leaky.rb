# Look-alikes of memo_branch_ok.rb where the tapped file is dropped: the
# `if` is not assigned, or the file is not the branch's value.
module ServiceJournal
  class << self
    # Opened per line and dropped: the `if`'s value goes nowhere.
    def save(line)
      if (path = ENV['JOURNAL'])
        File.open(path, 'a').tap do |f| # expect: unclosed-resource
          f.puts(line)
        end
      end
      nil
    end

    # Assigned, but the tapped file is not the branch's last value: the
    # branch hands back `true`, and the file is dropped.
    def touch(path)
      @touched ||= if path
                     File.open(path, 'a').tap { |f| f.puts('touched') } # expect: unclosed-resource
                     true
                   else
                     false
                   end
    end
  end
end
